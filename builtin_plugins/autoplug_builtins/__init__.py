"""The plugins shipped with autoplug, each registered through its own entry point.

The kernel never imports this package: the builtins arrive through the
``autoplug`` entry-point group like any third-party plugin, and each can be
disabled like one.
"""
