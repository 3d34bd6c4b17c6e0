"""Errors the agent raises. Each message names the problem and how to fix it."""


class GearSegError(Exception):
    """Base class: anything the user can fix (bad input, bad config, missing model)."""


class InvalidImageError(GearSegError):
    pass


class InvalidInstructionError(GearSegError):
    pass


class ConfigError(GearSegError):
    pass


class ModelNotFoundError(GearSegError):
    pass


class BackendUnavailableError(GearSegError):
    """A backend's Python package is not installed (e.g. `sam2` on a CPU machine)."""


class UnknownFrameError(GearSegError):
    pass
