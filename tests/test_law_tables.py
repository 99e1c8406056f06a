"""The fan-out of a run with statewide law packs (transforms/law_tables.py)."""

from __future__ import annotations

from relief.transforms import columns as C
from relief.transforms.law_tables import fan_out_with_laws

P1203, P851 = "pc1203.425", "pc851.93"
LINE_1203 = C.law_column(P1203, C.CANDIDATE_LINE)
LINE_851 = C.law_column(P851, C.CANDIDATE_LINE)


def test_a_subject_goes_to_every_county_of_its_candidates_with_the_laws_that_put_it_there(spark):
    schema = (
        f"{C.RECORD_ID} string, {C.SUBJECT} string, {C.COUNTY_SLUG} string, "
        f"{C.P64_COUNTIES} array<string>, {LINE_1203} boolean, {LINE_851} boolean"
    )
    rows = [
        ("r1", "S1", "sacramento", ["sacramento"], True, False),  # a conviction
        ("r2", "S1", "fresno", ["sacramento"], False, True),  # an arrest without one
        ("r3", "S1", None, ["sacramento"], False, False),  # an out-of-state line
        ("r4", "S2", None, [], True, False),  # an out-of-state conviction: no table
        ("r5", "S3", "fresno", [], False, False),  # no candidate at all: no table
        ("r6", "S4", "alameda", ["alameda"], False, False),  # Prop 64 only
    ]
    out = fan_out_with_laws(spark.createDataFrame(rows, schema), [P1203, P851])
    assert C.P64_COUNTIES not in out.columns
    got = sorted(
        (r[C.RECORD_ID], r[C.TARGET_COUNTY], tuple(r[C.TABLE_LAWS])) for r in out.collect()
    )
    assert got == [
        ("r1", "fresno", (P851,)),
        ("r1", "sacramento", ("prop64", P1203)),
        ("r2", "fresno", (P851,)),
        ("r2", "sacramento", ("prop64", P1203)),
        ("r3", "fresno", (P851,)),
        ("r3", "sacramento", ("prop64", P1203)),
        ("r6", "alameda", ("prop64",)),
    ]
