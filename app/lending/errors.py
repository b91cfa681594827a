from ..errors import RuleError


class LendingError(RuleError):
    """A lending rule said no: shown beside the field it names."""
