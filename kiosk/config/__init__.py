"""The kiosk's configuration: one table of options (`options.py`), loaded from defaults, a TOML
file and the environment (`load.py`) into typed, frozen settings (`settings.py`); the example
TOML and the table in docs/configuration.md are generated from the same table (`render.py`).

Use: ``load_config(choose_path(args.config, os.environ), os.environ) -> Config``; it raises
`ConfigError`, whose message has one line per problem, ready to show the operator.
"""

from kiosk.config.load import ConfigError, Problem, choose_path, load_config, nearest_name
from kiosk.config.options import (
    DEFAULT_PATH,
    DEMO_CATALOGUE,
    OPTIONS,
    Kind,
    Mode,
    OnPaidNotVended,
    Option,
    VendAdapter,
)
from kiosk.config.settings import (
    AttendantConfig,
    Config,
    DisplayConfig,
    FleetConfig,
    MdbConfig,
    SimulatorConfig,
    VendConfig,
    build,
    defaults,
    state_dir,
    state_dir_source,
)

__all__ = [
    "DEFAULT_PATH",
    "DEMO_CATALOGUE",
    "OPTIONS",
    "AttendantConfig",
    "Config",
    "ConfigError",
    "DisplayConfig",
    "FleetConfig",
    "Kind",
    "MdbConfig",
    "Mode",
    "OnPaidNotVended",
    "Option",
    "Problem",
    "SimulatorConfig",
    "VendAdapter",
    "VendConfig",
    "build",
    "choose_path",
    "defaults",
    "load_config",
    "nearest_name",
    "state_dir",
    "state_dir_source",
]
