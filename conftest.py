"""Root conftest. The Seawall pytest plugin itself is registered through the ``pytest11``
entry point (``seawall.plugin``), so ``pytest probes/`` works from any directory once the
package is installed; nothing needs to be configured here."""
