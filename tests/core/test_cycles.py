"""Which observations come too late to be applied."""

from diva_core.cycles import superseded


def test_the_same_cycle_is_superseded():
    assert superseded("20261204T120000Z", "20261204T120000Z")
    assert superseded("local-1", "local-1")


def test_an_older_scheduled_cycle_is_superseded_by_a_newer_one():
    assert superseded("20261204T120000Z", "20261204T120500Z")
    assert not superseded("20261204T121000Z", "20261204T120500Z")


def test_ad_hoc_runs_are_never_ordered():
    assert not superseded("20261204T120000Z-aaaa", "20261204T120500Z-bbbb")
    assert not superseded("20261204T120000Z", "20261204T120500Z-bbbb")
    assert not superseded("20261204T120000Z", None)
