from pypod.cli.main import launch

launch()
