"""ε lower bounds from one training run with many canaries, and from independently trained target models.

One run (Steinke, Nasr & Jagielski 2023, "Privacy Auditing with One (1) Training Run", Theorem 3.1). Each of ``m``
canaries is included in the training set independently with probability 1/2 (S ∈ {−1, +1}^m uniform). After the run
the attacker guesses "included" or "excluded" on at most ``r`` canaries and abstains on the rest; ``r`` is fixed
before the run, which of the canaries it guesses on and the guesses themselves may depend on the trained model. If
training is (ε, δ)-DP with respect to adding or removing one canary, the number V of correct guesses satisfies, for
every v,

    P[V ≥ v] ≤ f(v) + 2·m·δ · max_{i ∈ {1, …, m}} (f(v − i) − f(v)) / i,      f(v) := P[Binomial(r, q) ≥ v],

with q = e^ε / (1 + e^ε), the accuracy of ε-randomised response. For δ = 0 this is the binomial tail: the guesses
can do no better than r independent ε-randomised responses. :func:`one_run_p_value` computes the right-hand side
exactly as stated; the maximum runs over i ≤ v only, since for i > v f(v − i) = 1 and the ratio (1 − f(v)) / i is
below its value at i = v.

With β = 1 − confidence, the reported bound is ε_lb = sup{ε : p_ε(v) ≤ β}. It holds with probability ≥ confidence
even though p_ε(v) need not be monotone in ε when δ > 0: a mechanism that is (ε*, δ)-DP is also (ε', δ)-DP for
every ε' ≥ ε*, so inf_{ε' ≥ ε*} p_ε'(·) is a valid tail bound for it, and ε_lb > ε* requires that bound to fall to
β or below, which happens with probability ≤ β. Any ε with p_ε(v) ≤ β is therefore a valid (if looser) bound.

Independent targets (:func:`per_target_epsilon_lower_bound`): one decision per independently trained target model
turns each target into an independent Bernoulli trial, so the Clopper–Pearson bounds of :mod:`.epsilon` apply as
they stand, with their union bound over TPR and FPR. A LiRA row's bound applies it to leave-one-out targets with a
threshold chosen on other targets (:mod:`.target_bound`, which states what that adds to the assumptions).
"""

from __future__ import annotations

import math

import numpy as np

from acadp.lira.epsilon import epsilon_lower_bound

# scipy (a second to import) is imported by the functions that compute a bound, so that checking a sweep file's
# one-run settings (:func:`minimum_guesses`, through ``sweep status`` and ``sweep plan``) stays light


def _check_probabilities(*, delta: float, confidence: float) -> None:
    if not 0.0 <= delta < 1.0:
        raise ValueError(f"delta must lie in [0, 1), got {delta}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie strictly between 0 and 1, got {confidence}")


def _check_guess_counts(guesses_correct: int, guesses_made: int, canaries: int) -> None:
    if guesses_correct < 0:
        raise ValueError(f"guesses_correct must be ≥ 0, got {guesses_correct}")
    if guesses_correct > guesses_made:
        raise ValueError(f"guesses_correct ({guesses_correct}) exceeds guesses_made ({guesses_made})")
    if canaries < guesses_made:
        raise ValueError(f"canaries ({canaries}) is below guesses_made ({guesses_made}): one guess per canary at most")


def one_run_p_value(guesses_correct: int, guesses_made: int, canaries: int, *, epsilon: float, delta: float) -> float:
    """Theorem 3.1's bound on P[≥ ``guesses_correct`` correct of ``guesses_made``] under any (ε, δ)-DP training.

    A p-value for the hypothesis "training is (``epsilon``, ``delta``)-DP" given v correct guesses of r with m
    ``canaries`` (see the module docstring). Returns a value in [0, 1].
    """
    _check_guess_counts(guesses_correct, guesses_made, canaries)
    if epsilon < 0.0:
        raise ValueError(f"epsilon must be ≥ 0, got {epsilon}")
    if not 0.0 <= delta < 1.0:
        raise ValueError(f"delta must lie in [0, 1), got {delta}")
    from scipy.special import expit
    from scipy.stats import binom

    v, r = guesses_correct, guesses_made
    q = float(expit(epsilon))  # accuracy of ε-randomised response
    tail = float(binom.sf(v - 1, r, q))  # f(v) = P[W ≥ v], W ~ Binomial(r, q)
    if delta == 0.0 or v == 0:
        return min(tail, 1.0)
    # window[i − 1] = P[v − i ≤ W ≤ v − 1] = f(v − i) − f(v) for i = 1..v, summed from v − 1 downwards
    window = np.cumsum(binom.pmf(np.arange(v - 1, -1, -1), r, q))
    excess = float(np.max(window / np.arange(1, v + 1)))
    return min(tail + 2.0 * canaries * delta * excess, 1.0)


def _largest_possible_bound(guesses_made: int, beta: float) -> float:
    """ε at which r correct guesses of r have probability β under δ = 0: q^r = β, ε = logit(β^(1/r)).

    p_ε(v) ≥ f(v) ≥ q^r, so no ε above this can be rejected; it brackets the root search.
    """
    log_q = math.log(beta) / guesses_made
    return log_q - math.log(-math.expm1(log_q))


def one_run_epsilon_lower_bound(
    guesses_correct: int, guesses_made: int, canaries: int, *, delta: float, confidence: float
) -> float:
    """ε lower bound from one training run, holding with probability ≥ ``confidence`` (Steinke et al. 2023).

    Args:
        guesses_correct: v, the number of correct guesses.
        guesses_made: r, the number of guesses (non-abstentions), fixed before the run.
        canaries: m, the number of canaries, each included independently with probability 1/2.
        delta: the δ the training claims; enters through the 2·m·δ term of Theorem 3.1.
        confidence: 1 − β, the probability that the true ε is at least the returned value.

    Returns the ε at which the p-value (:func:`one_run_p_value`) reaches 1 − confidence, or 0.0 when even ε = 0 is
    not rejected. For δ = 0 the p-value increases strictly in ε, so this root is the largest rejected ε; for δ > 0 it
    was non-decreasing in every case checked, and a root is a valid bound even where it is not (module docstring).
    """
    _check_probabilities(delta=delta, confidence=confidence)
    _check_guess_counts(guesses_correct, guesses_made, canaries)
    beta = 1.0 - confidence

    def excess_over_beta(epsilon: float) -> float:
        return one_run_p_value(guesses_correct, guesses_made, canaries, epsilon=epsilon, delta=delta) - beta

    if guesses_correct == 0 or excess_over_beta(0.0) >= 0.0:
        return 0.0
    from scipy.optimize import brentq

    # p(0) < β implies 2^−r < β, so the cap is > 0; one unit above it the p-value is strictly above β
    upper = _largest_possible_bound(guesses_made, beta) + 1.0
    return float(brentq(excess_over_beta, 0.0, upper, xtol=1e-12))


def minimum_guesses(*, canaries: int, delta: float, confidence: float) -> int:
    """The fewest guesses r for which r correct guesses of r give a positive ε bound with ``canaries`` canaries.

    No attack with fewer guesses can show ε > 0 at this confidence, so a caller can refuse such an audit up front.
    Raises ValueError when not even ``canaries`` perfect guesses suffice (the 2·m·δ term grows with m, so for δ > 0
    adding canaries does not always help). The search assumes that "r of r correct gives ε_lb > 0" stays true as r
    grows, which holds for δ = 0 (2^−r < β) and which the tests check for δ > 0.
    """
    _check_probabilities(delta=delta, confidence=confidence)
    if canaries < 1:
        raise ValueError(f"canaries must be at least 1, got {canaries}")

    beta = 1.0 - confidence

    def suffices(guesses: int) -> bool:  # ε_lb > 0 exactly when ε = 0 is rejected
        return one_run_p_value(guesses, guesses, canaries, epsilon=0.0, delta=delta) < beta

    if not suffices(canaries):
        raise ValueError(
            f"canaries ({canaries}) too few: even {canaries} correct guesses of {canaries} give no ε > 0 at "
            f"confidence {confidence} and delta {delta}; lower the confidence or delta, or (for delta = 0) add canaries"
        )
    low, high = 0, canaries  # suffices(high) holds; suffices(low) does not (0 guesses show nothing)
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (low, middle) if suffices(middle) else (middle, high)
    return high


def one_run_guesses(scores: np.ndarray, included: np.ndarray, k_plus: int, k_minus: int) -> tuple[int, int]:
    """Guess "included" for the ``k_plus`` highest scores and "excluded" for the ``k_minus`` lowest; abstain otherwise.

    Args:
        scores: ``(m,)`` membership scores of the canaries, higher = more likely included.
        included: ``(m,)`` bool, whether each canary was in the training set.
        k_plus, k_minus: numbers of positive and negative guesses; their sum r must be fixed before the run for
            :func:`one_run_epsilon_lower_bound` to hold (the split between them may depend on the scores).

    Returns ``(correct, made)``: the number of correct guesses and r. Ties are broken by position (stable sort), so
    the order of the canaries must not depend on which were included.
    """
    scores = np.asarray(scores, dtype=np.float64)
    included = np.asarray(included)
    if scores.ndim != 1 or included.shape != scores.shape or included.dtype != np.bool_:
        raise ValueError(f"scores must be (m,) and included (m,) bool; got {scores.shape} and {included.shape}")
    if not np.all(np.isfinite(scores)):
        raise ValueError("scores must be finite")
    if k_plus < 0 or k_minus < 0 or k_plus + k_minus > scores.size:
        raise ValueError(f"k_plus, k_minus must be ≥ 0 with k_plus + k_minus ≤ {scores.size}; got {k_plus}, {k_minus}")
    order = np.argsort(scores, kind="stable")  # ascending
    lowest, highest = order[:k_minus], order[scores.size - k_plus :]
    correct = int(included[highest].sum()) + int((~included[lowest]).sum())
    return correct, k_plus + k_minus


def per_target_epsilon_lower_bound(
    member_hits: np.ndarray, nonmember_hits: np.ndarray, *, delta: float, confidence: float
) -> float:
    """ε lower bound from one member and one non-member decision per independently trained target model.

    Args:
        member_hits: ``(n_targets,)`` bool, whether the attack said "member" on target i's member.
        nonmember_hits: ``(n_targets,)`` bool, the same for target i's non-member.
        delta: the δ the training claims.
        confidence: probability that the true ε is at least the result (union bound over TPR and FPR).

    ε_lb = max(log((TPR_lb − δ) / FPR_ub), log((1 − FPR_ub − δ) / (1 − TPR_lb)), 0) with one-sided Clopper–Pearson
    bounds at level (1 − confidence) / 2 each (:func:`acadp.lira.epsilon.epsilon_lower_bound`). Assumes: the targets'
    training runs (data sampling included) are independent, so the n decisions of each kind are independent
    Bernoulli trials; the threshold and the attack were fixed before these counts were seen; the member and the
    non-member of a target are exchangeable (drawn as a pair, one inserted at random), so the non-member's hit rate
    is the member's hit rate in the neighbouring world. That world swaps one record for another, so ε is for
    replace-one neighbours (add/remove (ε, δ)-DP implies replace-one (2ε, (1 + e^ε)·δ)-DP).
    """
    member_hits = np.asarray(member_hits)
    nonmember_hits = np.asarray(nonmember_hits)
    if member_hits.ndim != 1 or member_hits.dtype != np.bool_ or nonmember_hits.dtype != np.bool_:
        raise ValueError(f"member_hits and nonmember_hits must be (n_targets,) bool; got {member_hits.dtype} arrays")
    if nonmember_hits.shape != member_hits.shape or member_hits.size == 0:
        raise ValueError(
            f"member_hits and nonmember_hits need one entry per target, same length ≥ 1; got {member_hits.shape} "
            f"and {nonmember_hits.shape}"
        )
    n_targets = member_hits.size
    return epsilon_lower_bound(
        true_positives=int(member_hits.sum()),
        n_members=n_targets,
        false_positives=int(nonmember_hits.sum()),
        n_non_members=n_targets,
        delta=delta,
        confidence=confidence,
    )
