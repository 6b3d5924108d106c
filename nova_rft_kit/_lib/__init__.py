"""The project's libraries, in an installed wheel (``nova_rft_kit.use_libraries`` puts this folder on the path)."""
