"""Container and volume names: validation and podman-style random names."""

from __future__ import annotations


from ..errors import InvalidArgument

_ALLOWED_FIRST = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
_ALLOWED = _ALLOWED_FIRST | set("_.-")

# pypod's own word lists: 149 adjectives x 245 creatures and plants
# = 36505 names, so random names stay free long after podman's
# ~25,000 would; and when every pair is taken a number is added.
_ADJECTIVES = (
    "able", "agile", "airy", "amber", "ample", "ancient", "arctic", "ardent", "astute", "auburn", "autumn", "azure",
    "balmy", "bold", "bouncy", "brave", "breezy", "bright", "brisk", "broad", "bubbly", "buoyant", "calm", "candid",
    "carefree", "careful", "cheerful", "chipper", "civil", "clever", "cobalt", "cosmic", "cozy", "crafty", "crimson",
    "crisp", "curious", "dainty", "dapper", "daring", "dazzling", "deft", "devoted", "diligent", "dreamy", "dusky",
    "dutiful", "eager", "earnest", "easy", "electric", "elegant", "emerald", "epic", "fabled", "fearless", "feisty",
    "fervent", "fierce", "fluent", "fluffy", "frank", "frosty", "gallant", "gentle", "giddy", "gilded", "glad",
    "gleaming", "golden", "graceful", "grand", "hardy", "hasty", "hearty", "helpful", "heroic", "honest", "humble",
    "icy", "idle", "jaunty", "jolly", "jovial", "joyful", "keen", "kind", "lively", "loyal", "lucid", "lucky",
    "lunar", "mellow", "merry", "mighty", "misty", "modest", "nimble", "noble", "nomadic", "patient", "peppy",
    "placid", "plucky", "polite", "proud", "quick", "quiet", "quirky", "radiant", "rapid", "rosy", "rugged",
    "rustic", "serene", "sharp", "shiny", "silent", "silver", "sleek", "smiling", "snowy", "solar", "sparkly",
    "spry", "steady", "stellar", "stoic", "sturdy", "sunny", "swift", "tidy", "tireless", "tranquil", "trusty",
    "upbeat", "valiant", "velvet", "vibrant", "vivid", "wandering", "warm", "wily", "windy", "wise", "witty", "zany",
    "zealous", "zesty",
)
_NOUNS = (
    "aardvark", "albatross", "alder", "alpaca", "anchovy", "antelope", "aspen", "avocet", "badger", "barracuda",
    "basil", "beaver", "beech", "beetle", "birch", "bison", "bittern", "bluebell", "bobcat", "bonobo", "buffalo",
    "bumblebee", "buzzard", "camel", "canary", "capybara", "caracal", "cardinal", "caribou", "cassowary", "catfish",
    "cedar", "chamois", "cheetah", "chestnut", "chickadee", "chinchilla", "chipmunk", "cicada", "clover", "cobra",
    "cockatoo", "condor", "coral", "cormorant", "cougar", "coyote", "crane", "cricket", "crocus", "cuckoo", "curlew",
    "cypress", "daffodil", "dahlia", "dingo", "dolphin", "dormouse", "dove", "dragonfly", "duckling", "dugong",
    "eagle", "egret", "eider", "elk", "elm", "emu", "ermine", "falcon", "fennec", "ferret", "finch", "firefly",
    "flamingo", "flounder", "foxglove", "gannet", "gazelle", "gecko", "gerbil", "gibbon", "giraffe", "goldfinch",
    "goshawk", "grebe", "grouse", "gull", "hamster", "hare", "harrier", "hawk", "hazel", "hedgehog", "heron",
    "hibiscus", "hippo", "hornbill", "hummingbird", "hyacinth", "ibex", "ibis", "iguana", "impala", "jackal",
    "jaguar", "jasmine", "jay", "juniper", "kakapo", "kangaroo", "kestrel", "kingfisher", "kiwi", "koala",
    "kookaburra", "lark", "lemming", "lemur", "leopard", "lilac", "lily", "linden", "linnet", "llama", "lobster",
    "locust", "lotus", "lynx", "macaw", "magnolia", "magpie", "mallard", "manatee", "mandrill", "mantis", "maple",
    "marmot", "marten", "meerkat", "merlin", "mink", "mole", "mongoose", "moose", "moth", "narwhal", "newt",
    "nightjar", "nuthatch", "ocelot", "octopus", "okapi", "olive", "opossum", "orca", "oriole", "oryx", "osprey",
    "ostrich", "otter", "owl", "oyster", "panda", "pangolin", "panther", "parrot", "partridge", "peacock", "pelican",
    "penguin", "peony", "petrel", "pheasant", "pika", "pine", "plover", "poppy", "porcupine", "possum", "primrose",
    "puffin", "puma", "python", "quail", "quokka", "quoll", "rabbit", "raccoon", "raven", "redwood", "reindeer",
    "robin", "rook", "rowan", "saffron", "salamander", "salmon", "sandpiper", "sardine", "sequoia", "serval",
    "shrew", "skylark", "sloth", "snipe", "sparrow", "spruce", "squirrel", "starling", "stingray", "stoat", "stork",
    "sturgeon", "swallow", "sycamore", "tamarin", "tapir", "tarsier", "teal", "tern", "thrush", "tiger", "tortoise",
    "toucan", "trout", "tulip", "tuna", "turtle", "viper", "vole", "vulture", "wallaby", "walrus", "warbler",
    "weasel", "whippet", "wigeon", "willow", "wolverine", "wombat", "woodpecker", "wren", "yak", "zebra",
)


def validate_name(name: str, what: str = "container") -> None:
    """[a-zA-Z0-9][a-zA-Z0-9_.-]*, as podman: this also keeps names from
    naming paths outside the state directories."""
    if not name or name[0] not in _ALLOWED_FIRST or any(c not in _ALLOWED for c in name) or len(name) > 253:
        raise InvalidArgument(
            "names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*: invalid argument" if what == "container"
            else f"invalid {what} name {name!r}: names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*: invalid argument"
        )


def new_id() -> str:
    """64 hex digits, as container and exec session IDs are.  (os.urandom
    directly: the secrets module costs the CLI milliseconds of imports.)"""
    import os

    return os.urandom(32).hex()


def random_name(attempt: int = 0) -> str:
    """adjective_noun; from the fourth attempt on with a number whose
    width grows with the attempts, so a caller that retries on
    "name in use" always ends with a free name."""
    import os

    r = int.from_bytes(os.urandom(8), "little")
    name = f"{_ADJECTIVES[r % len(_ADJECTIVES)]}_{_NOUNS[(r >> 16) % len(_NOUNS)]}"
    if attempt >= 3:
        name += str((r >> 32) % 10 ** (1 + (attempt - 3) // 4))
    return name
