"""TLS policies and the cipher-suite facts rules judge them by.

:class:`TlsPolicy` is defined with the ``[tls]`` config (config may not import suites)
and re-exported here; this module adds what a policy needs to judge OpenSSL cipher
names. Suite names follow OpenSSL (``ECDHE-RSA-AES128-GCM-SHA256``, ``AES128-SHA``,
``TLS_AES_256_GCM_SHA384``).
"""

from __future__ import annotations

from seawall.config.tls import BUILTIN_POLICIES, VERSIONS, TlsPolicy

__all__ = ["BUILTIN_POLICIES", "VERSIONS", "TlsPolicy", "cipher_problem", "is_aead",
           "is_forward_secret", "version_index"]

# Broken whatever the policy: RC4 (RFC 7465), 3DES/DES (SWEET32), NULL, export and
# anonymous suites, MD5 MACs.
_BROKEN = ("RC4", "DES-CBC", "3DES", "NULL", "EXP", "ADH", "AECDH", "MD5", "IDEA", "SEED")


def version_index(version: str) -> int:
    """Position of ``version`` in :data:`VERSIONS` (oldest is 0); unknown names sort last."""
    return VERSIONS.index(version) if version in VERSIONS else len(VERSIONS)


def is_forward_secret(cipher: str) -> bool:
    """TLS 1.3 suites always are; TLS <= 1.2 ones when the key exchange is (EC)DHE."""
    return cipher.startswith(("TLS_", "ECDHE-", "DHE-", "EDH-"))


def is_aead(cipher: str) -> bool:
    """GCM, CCM and ChaCha20-Poly1305 suites (every TLS 1.3 suite) are AEAD."""
    return cipher.startswith("TLS_") or any(m in cipher for m in ("GCM", "CCM", "CHACHA20"))


def cipher_problem(cipher: str, version: str, policy: TlsPolicy) -> str:
    """Why ``cipher`` negotiated on ``version`` breaks ``policy`` ('' when it does not)."""
    upper = cipher.upper()
    if any(mark in upper for mark in _BROKEN):
        return f"{cipher} is a broken suite"
    if policy.require_forward_secrecy and not is_forward_secret(upper):
        return f"{cipher} on {version} is not forward-secret (policy {policy.name})"
    if policy.require_aead and not is_aead(upper):
        return f"{cipher} on {version} is not AEAD (policy {policy.name})"
    return ""
