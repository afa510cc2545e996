"""The tls suite: protocol versions, certificate chain and cipher suites of endpoints.

Flow: ``[tls]`` config -> :mod:`.engine` (trio; one unverified handshake per target plus
one per older version, hand-built hellos from :mod:`.hello` for what OpenSSL 3 cannot
offer) -> :mod:`.facts` (chain verified offline by :mod:`.x509`) -> :mod:`.rules`
(pure) -> ``probes/tls``. :mod:`.suite` plugs it into the pytest plugin (kind
``endpoint``); :mod:`.clients` is the client-verification check (kind ``client``).
"""
