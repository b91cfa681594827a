from ..gatherings.errors import GatheringError


class MealError(GatheringError):
    """A rule of shared meals said no (a gathering's rule, since a meal is one)."""
