"""The isolation suite: sandboxes must not reach each other, the host or the metadata
service. Flow: :mod:`plan` (fleets and cells) -> :mod:`engine` (launch, listen, probe,
with trio) -> :mod:`facts` -> :mod:`rules` (the one-sided verdict) -> probes/isolation.
"""
