"""Gradient-masking checks on a finished table (after Athalye et al. 2018 and AutoAttack's
``checks.py``): each is PASS or WARN, and a WARN names the likely cause."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from again_tf.evaluation.attack_specs import AttackSpec
from again_tf.evaluation.autoattack_columns import AUX_COMPONENT
from again_tf.evaluation.runner import LARGE_EPS, SANITY

LARGE_EPS_MAX = 0.05  # accuracy at eps 0.5 above this is a warning
CW_SLACK = 0.01  # C&W may exceed PGD-20 by at most one point
PGD_SLACK = 0.005  # more PGD steps may not raise accuracy by more than half a point (random start)
ADAPTIVE_GAP = 0.01  # main-head-only attack overstating the worst case by more than a point
SQUARE_MAX = 0.005  # black-box Square breaking more than half a point after the white-box attacks
ROUNDING = 1e-9  # accuracies are counts / n: 743/1000 - 733/1000 is 0.01000000000000001, not > 0.01


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    detail: str
    cause: str = ""

    def line(self) -> str:
        status = "PASS" if self.passed else "WARN"
        return f"{status}  {self.name}: {self.detail}" + ("" if self.passed else f" - {self.cause}")


def _exceeds(value: float, bound: float) -> bool:
    """``value > bound`` for accuracies (counts / n), which rounding must not tip over a bound."""
    return value > bound + ROUNDING


def _pct(value: float) -> str:
    return f"{100 * value:.2f}%"


def pgd_steps_check(acc: dict[str, float], pgd_names: list[str]) -> Check | None:
    if len(pgd_names) < 2:
        return None
    values = [acc[n] for n in pgd_names]
    rises = [(a, b) for a, b in zip(pgd_names, pgd_names[1:]) if _exceeds(acc[b], acc[a] + PGD_SLACK)]
    return Check("accuracy falls as PGD steps grow", not rises,
                 ", ".join(f"{n} {_pct(v)}" for n, v in zip(pgd_names, values)),
                 "more steps found fewer adversarial examples: a noisy or masked gradient "
                 "(the step size may be too large, or the loss saturates)")


def autoattack_check(acc: dict[str, float], aa: str, others: list[str]) -> Check | None:
    if aa not in acc or not others:
        return None
    above = [n for n in others if acc[aa] > acc[n]]
    return Check("AA <= every PGD column", not above,
                 f"{aa} {_pct(acc[aa])} vs " + ", ".join(f"{n} {_pct(acc[n])}" for n in others),
                 f"AutoAttack is weaker than {', '.join(above)}: check that AA attacks the same "
                 "deployed model (masks, inference mode) and its budget")


def cw_check(acc: dict[str, float], cw: str) -> Check | None:
    if cw not in acc or "pgd20" not in acc:
        return None
    return Check("C&W <= PGD-20 + 1 point", not _exceeds(acc[cw], acc["pgd20"] + CW_SLACK),
                 f"{cw} {_pct(acc[cw])}, pgd20 {_pct(acc['pgd20'])}",
                 "the margin loss finds fewer examples than CE: CE saturates or the logits are "
                 "rescaled (masking), the classic sign of a weak evaluation")


def sanity_checks(acc: dict[str, float]) -> list[Check]:
    eps0, large = acc.get(SANITY[0]), acc.get(SANITY[1])
    checks = []
    if eps0 is not None and "clean" in acc:
        checks.append(Check("eps = 0 equals clean accuracy", abs(eps0 - acc["clean"]) < 1e-9,
                            f"PGD-10 at eps 0 {_pct(eps0)}, clean {_pct(acc['clean'])}",
                            "the attack changes inputs it must not: clipping or projection bug, "
                            "or randomness in the model at inference"))
    if large is not None:
        checks.append(Check(f"eps = {LARGE_EPS} drives accuracy to about 0", large <= LARGE_EPS_MAX,
                            f"PGD-10 at eps {LARGE_EPS}: {_pct(large)}",
                            "an unbounded attack should win; the gradient does not lead anywhere "
                            "(shattered or vanishing gradients)"))
    return checks


def adaptive_check(acc: dict[str, float], names: list[str]) -> Check | None:
    pairs = [(n, acc[f"{n}:main"], acc[n]) for n in names if f"{n}:main" in acc]
    if not pairs:
        return None
    gaps = [(n, main - worst) for n, main, worst in pairs if _exceeds(main - worst, ADAPTIVE_GAP)]
    return Check("main-head attack agrees with the adaptive attack", not gaps,
                 ", ".join(f"{n}: main {_pct(m)} / worst {_pct(w)}" for n, m, w in pairs),
                 "attacking the main head alone overstates robustness (the ASE masks' argmax "
                 "hides the gradient); the table reports the worst case, and the `transfer` "
                 "attack (in --attacks) goes past the masks")


def transfer_check(against: str, found: dict) -> Check:
    """The attacks past the masks joined with the table ``against`` (``found``: its attacks, the
    images both cover, its worst case and that worst case with the transfer attacks): WARN when the
    transfer attacks lower it by more than a point, as for the main-head attack above."""
    drop = found["table_worst"] - found["with_transfer"]
    return Check(f"transfer attacks agree with {against}", not _exceeds(drop, ADAPTIVE_GAP),
                 f"worst of {', '.join(found['attacks'])} {_pct(found['table_worst'])}, with the transfer "
                 f"attacks {_pct(found['with_transfer'])} ({found['examples']} images)",
                 "the table's attacks miss adversarial examples past the argmax mask; report the "
                 "worst case with the transfer attacks")


def past_masks_check(columns: dict[str, np.ndarray], specs) -> Check | None:
    """The ``transfer`` column against the worst case of the table's other attacks."""
    past = next((s.name for s in specs if s.kind == "transfer"), None)
    others = [s.name for s in specs if s.kind not in ("clean", "transfer")]
    if past is None or past not in columns or not others:
        return None
    table = np.minimum.reduce([columns[n] for n in others])
    found = {"attacks": others, "examples": len(table), "table_worst": float(table.mean()),
             "with_transfer": float(np.minimum(table, columns[past]).mean())}
    return transfer_check(f"the worst of {', '.join(others)}", found)


def square_check(columns: dict[str, np.ndarray], aa: AttackSpec | None) -> Check | None:
    """Square's share of all examples (the points of robust accuracy it took) after the
    white-box components, for the standard version (``rand`` runs no Square)."""
    key = f"{aa.name}:broken_by" if aa is not None else ""
    if aa is None or aa.version != "standard" or key not in columns:
        return None
    broken = columns[key]
    share = float(np.mean(broken == "square"))
    left = int(np.sum(np.isin(broken, ("square", AUX_COMPONENT, ""))))  # what APGD and FAB left
    return Check("black-box Square is not stronger than white-box APGD/FAB", not _exceeds(share, SQUARE_MAX),
                 f"Square broke {int(np.sum(broken == 'square'))} of the {left} examples the "
                 f"white-box attacks left: {_pct(share)} of all examples",
                 "gradients do not point to adversarial examples that exist: gradient masking")


def run_checks(columns: dict[str, np.ndarray], acc: dict[str, float], specs) -> list[Check]:
    pgd = sorted((s for s in specs if s.kind == "pgd"), key=lambda s: s.steps)
    aa_spec = next((s for s in specs if s.kind == "aa"), None)
    aa = aa_spec.name if aa_spec is not None else ""
    cw = next((s.name for s in specs if s.kind == "cw"), "")
    gradient = [s.name for s in specs if s.is_gradient_attack]
    pgd_names = [s.name for s in pgd]
    checks = [pgd_steps_check(acc, pgd_names), autoattack_check(acc, aa, pgd_names), cw_check(acc, cw),
              *sanity_checks(acc), adaptive_check(acc, gradient), square_check(columns, aa_spec),
              past_masks_check(columns, specs)]
    return [c for c in checks if c is not None]
