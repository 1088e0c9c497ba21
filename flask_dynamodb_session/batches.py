"""What the batch calls of the sweep and of a user's sessions share."""

from __future__ import annotations

import random

#: How many times one batch is sent while DynamoDB leaves items unprocessed.
MAX_BATCH_ATTEMPTS = 10
#: The first back-off delay, in seconds; it doubles with every attempt.
BASE_BACKOFF = 0.05


def backoff_delay(attempt: int, max_backoff: float) -> float:
    """Seconds to wait before attempt ``attempt + 1`` of a batch.

    Exponential (``BASE_BACKOFF * 2 ** attempt``) with "equal jitter": a
    random delay between half the bound and the bound, never above
    ``max_backoff``.
    """
    bound = min(max_backoff, BASE_BACKOFF * 2**attempt)
    return random.uniform(bound / 2, bound)
