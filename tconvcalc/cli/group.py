"""The top-level click group: subcommands imported only when they run (or when help lists them), and every
failure handed to the boundary."""

import importlib

import click

from . import boundary


class LazyGroup(click.Group):
    """COMMANDS maps a command name to the module of tconvcalc.cli that defines it (an attribute of that name):
    `tconvcalc forward` imports cli/layer.py and nothing of chain, design or the numeric commands."""

    def __init__(self, *args, lazy_commands=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.lazy_commands = dict(lazy_commands or {})

    def list_commands(self, ctx):
        return sorted(set(super().list_commands(ctx)) | set(self.lazy_commands), key=self._order)

    def _order(self, name):
        names = list(self.lazy_commands)
        return (names.index(name) if name in names else len(names), name)

    def get_command(self, ctx, name):
        if name not in self.commands and name in self.lazy_commands:
            module = importlib.import_module(f"{__package__}.{self.lazy_commands[name]}")
            self.add_command(getattr(module, name), name)
        return super().get_command(ctx, name)

    def invoke(self, ctx):
        return boundary.guarded_invoke(super().invoke, ctx)

    def main(self, args=None, prog_name=None, **extra):
        from .. import _startup

        _startup.started()
        extra.pop("standalone_mode", None)
        boundary.run(lambda: super(LazyGroup, self).main(args, prog_name=prog_name or "tconvcalc",
                                                          standalone_mode=False, **extra), args)
