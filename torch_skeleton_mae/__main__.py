r"""``python -m torch_skeleton_mae pretrain|finetune|linear|fuse [FLAGS]``:
the training protocols and the fusion of streams from the command line
(``--help`` after a command lists its flags)."""
import sys

from torch_skeleton_mae.engine.cli import COMMANDS, command_line


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        print(f"usage: python -m torch_skeleton_mae "
              f"{{{','.join(COMMANDS)}}} [FLAGS]; 'python -m "
              f"torch_skeleton_mae pretrain --help' lists the flags",
              file=sys.stderr)
        raise SystemExit(2)
    name = sys.argv.pop(1)
    sys.argv[0] = f'python -m torch_skeleton_mae {name}'  # in messages
    command_line(COMMANDS[name])


if __name__ == '__main__':
    main()
