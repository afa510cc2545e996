"""The https suite: plain HTTP redirects to HTTPS on the same host, and HSTS is sent.

config ``[https]`` -> :mod:`~seawall.https.engine` (httpx on trio, hop by hop) ->
:mod:`~seawall.https.facts` -> :mod:`~seawall.https.rules` -> ``probes/https/``.
"""
