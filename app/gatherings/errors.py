from ..errors import RuleError


class GatheringError(RuleError):
    """A rule of gatherings said no."""
