"""The at_rest judgements, each with the case it catches and the case it passes.
Facts here are built by hand (rules are pure; the lab tests feed them real facts),
except for the timeout case, which goes through the engine."""

from __future__ import annotations

from pathlib import Path

from seawall.at_rest import engine, rules
from seawall.at_rest.facts import (
    AtRestReason,
    CanaryFacts,
    DataPathFacts,
    Layer,
    Mechanism,
    MechanismFact,
    ProbeRead,
)
from seawall.at_rest.policy import DataPathPolicy
from seawall.model import Outcome
from seawall.reasons import Reason
from seawall.targets import DataPath

PATH = "/srv/data"
STACK = (Layer(kind="mount", name="/srv", detail={"fstype": "ext4"}),
         Layer(kind="disk", name="vda", detail={"node": "/dev/vda"}))
FSCRYPT = MechanismFact(kind=Mechanism.FSCRYPT, layer="/srv", encrypts=True)
FAKE_LUKS = MechanismFact(kind=Mechanism.LUKS, layer="vdb", encrypts=False,
                          detail={"problems": ["segment 0 is linear (data stored in plaintext)"]})


def read(found: bool | None, reason: str | None = None, where: str = PATH) -> ProbeRead:
    return ProbeRead(written_in=where, medium="/dev/vda", method="fiemap", found=found,
                     offset=8192 if found else None, bytes_read=4096, reason=reason,
                     detail="Errno 13" if reason else "")


def facts(canary: ProbeRead | None, control: ProbeRead | None = None,
          mechanisms: tuple[MechanismFact, ...] = (FSCRYPT,)) -> DataPathFacts:
    proof = None if canary is None else CanaryFacts(canary=canary, control=control)
    return DataPathFacts(path=PATH, observed_at=5.0, stack=STACK, mechanisms=mechanisms,
                         canary=proof)


def judge(f: DataPathFacts, policy: DataPathPolicy | None = None) -> tuple[Outcome, str | None]:
    finding = rules.encrypted(f, policy or DataPathPolicy(), 9.0)
    assert finding.check == "at_rest.encrypted" and finding.target == PATH
    assert finding.summary.startswith(PATH) and finding.observed_at == 5.0
    return finding.outcome, finding.reason


def test_canary_absent_and_control_found_passes() -> None:
    assert judge(facts(read(False), read(True, where="/srv/.ctl"))) == (Outcome.PASS, None)


def test_canary_found_fails() -> None:
    assert judge(facts(read(True), read(True), mechanisms=())) == (
        Outcome.FAIL, AtRestReason.PLAINTEXT_ON_MEDIUM)


def test_control_not_found_is_inconclusive_never_a_pass() -> None:
    assert judge(facts(read(False), read(False))) == (Outcome.ERROR, Reason.CONTROL_FAILED)
    assert judge(facts(read(False), None)) == (Outcome.ERROR, Reason.CONTROL_FAILED)
    assert judge(facts(read(False), read(None, Reason.NOT_PERMITTED))) == (
        Outcome.ERROR, Reason.CONTROL_FAILED)


def test_header_over_plaintext_fails_even_when_the_canary_hides() -> None:
    assert judge(facts(read(False), read(True), mechanisms=(FAKE_LUKS,))) == (
        Outcome.FAIL, AtRestReason.HEADER_WITHOUT_ENCRYPTION)
    assert judge(facts(read(True), read(True), mechanisms=(FAKE_LUKS,))) == (
        Outcome.FAIL, AtRestReason.HEADER_WITHOUT_ENCRYPTION)
    assert judge(facts(None, mechanisms=(FAKE_LUKS,))) == (
        Outcome.FAIL, AtRestReason.HEADER_WITHOUT_ENCRYPTION)


def test_no_look_at_the_medium_is_weaker_by_policy() -> None:
    denied = facts(read(None, Reason.NOT_PERMITTED))
    assert judge(denied) == (Outcome.WARN, AtRestReason.STACK_ONLY)
    assert judge(denied, DataPathPolicy(unprivileged=Outcome.ERROR)) == (
        Outcome.ERROR, AtRestReason.STACK_ONLY)
    assert judge(facts(None), DataPathPolicy(canary=False)) == (
        Outcome.WARN, AtRestReason.STACK_ONLY)
    far = facts(read(None, AtRestReason.MEDIUM_OUT_OF_REACH))
    assert judge(far) == (Outcome.WARN, AtRestReason.MEDIUM_OUT_OF_REACH)
    assert judge(facts(read(None, Reason.UNKNOWN_ERROR))) == (
        Outcome.ERROR, Reason.UNKNOWN_ERROR)


def test_below_os_cannot_be_verified_here() -> None:
    policy = DataPathPolicy(mechanism=Mechanism.BELOW_OS)
    assert judge(facts(read(True), read(True), mechanisms=()), policy) == (
        Outcome.WARN, AtRestReason.BELOW_OS_UNVERIFIED)
    assert rules.mechanism(facts(None), policy, 1.0).reason == AtRestReason.BELOW_OS_UNVERIFIED


def test_plaintext_allowed_passes_and_says_what_it_is() -> None:
    f = facts(read(True), read(True), mechanisms=())
    finding = rules.encrypted(f, DataPathPolicy(expect_encrypted=False), 1.0)
    assert finding.outcome is Outcome.PASS and "canary readable" in finding.summary
    assert rules.mechanism(f, DataPathPolicy(expect_encrypted=False), 1.0).outcome \
        is Outcome.PASS


def test_could_not_look_at_the_path_is_an_error() -> None:
    f = DataPathFacts(path=PATH, observed_at=5.0, reason=AtRestReason.PATH_MISSING,
                      detail="FileNotFoundError")
    assert judge(f) == (Outcome.ERROR, AtRestReason.PATH_MISSING)
    assert rules.mechanism(f, DataPathPolicy(), 1.0).outcome is Outcome.ERROR


def test_mechanism_present_mismatched_or_missing() -> None:
    def mech(f: DataPathFacts, want: Mechanism | None) -> tuple[Outcome, str | None]:
        finding = rules.mechanism(f, DataPathPolicy(mechanism=want), 1.0)
        assert finding.check == "at_rest.mechanism"
        return finding.outcome, finding.reason

    assert mech(facts(None), Mechanism.FSCRYPT) == (Outcome.PASS, None)
    assert mech(facts(None), None) == (Outcome.PASS, None)
    assert mech(facts(None), Mechanism.DM_CRYPT) == (
        Outcome.FAIL, AtRestReason.MECHANISM_MISMATCH)
    assert mech(facts(None, mechanisms=()), None) == (
        Outcome.FAIL, AtRestReason.NO_ENCRYPTION_LAYER)
    assert mech(facts(None, mechanisms=(FAKE_LUKS,)), Mechanism.LUKS) == (
        Outcome.FAIL, AtRestReason.HEADER_WITHOUT_ENCRYPTION)


def test_evidence_and_metrics_are_plain_json() -> None:
    finding = rules.encrypted(facts(read(True), read(True), mechanisms=()), DataPathPolicy(), 1.0)
    assert finding.metrics == {"at_rest.canary.found": 1.0, "at_rest.canary.bytes_read": 4096.0}
    assert finding.evidence["canary"]["canary"]["offset"] == 8192
    assert finding.to_json()["evidence"]["stack"][1]["node"] == "/dev/vda"


def test_a_timeout_is_an_error_never_a_pass(tmp_path: Path) -> None:
    """A deadline already past: gather gives up before looking, and says so."""
    target = DataPath(path=str(tmp_path))
    policy = DataPathPolicy(timeout=0)
    facts_ = engine.gather([target], {target.id: policy})[target.id]
    assert facts_.reason == Reason.TIMEOUT and facts_.detail == "no answer within 0 s"
    finding = rules.encrypted(facts_, policy, 1.0)
    assert (finding.outcome, finding.reason) == (Outcome.ERROR, Reason.TIMEOUT)
    assert list(tmp_path.iterdir()) == []  # no canary left behind


def test_luks_is_named_by_the_dm_uuid_when_the_header_is_unreadable() -> None:
    dm_luks = MechanismFact(kind=Mechanism.DM_CRYPT, layer="dm-0", encrypts=True,
                            detail={"type": "LUKS2", "uuid": "CRYPT-LUKS2-ab-data"})
    dm_plain = MechanismFact(kind=Mechanism.DM_CRYPT, layer="dm-0", encrypts=True,
                             detail={"type": "PLAIN", "uuid": "CRYPT-PLAIN-data"})
    luks = DataPathPolicy(mechanism=Mechanism.LUKS)
    assert rules.mechanism(facts(None, mechanisms=(dm_luks,)), luks, 1.0).outcome is Outcome.PASS
    assert rules.mechanism(facts(None, mechanisms=(dm_plain,)), luks, 1.0).reason == (
        AtRestReason.MECHANISM_MISMATCH)


def test_a_verity_layer_under_fscrypt_is_no_failure() -> None:
    verity = MechanismFact(kind=Mechanism.DM_CRYPT, layer="dm-1", encrypts=False,
                           detail={"type": "VERITY", "uuid": "CRYPT-VERITY-ab-system"})
    f = facts(read(False), read(True), mechanisms=(FSCRYPT, verity))
    assert judge(f) == (Outcome.PASS, None)
    assert rules.mechanism(f, DataPathPolicy(), 1.0).outcome is Outcome.PASS
    assert rules.mechanism(f, DataPathPolicy(mechanism=Mechanism.DM_CRYPT), 1.0).reason == (
        AtRestReason.HEADER_WITHOUT_ENCRYPTION)
