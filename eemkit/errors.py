"""The package's own exceptions. The CLI turns them into one-line messages and exit codes."""

from __future__ import annotations

# Documented exit codes (README "Exit codes").
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_PARITY = 3  # `eemkit check`: a parity/accuracy tolerance was broken
EXIT_DIVERGED = 4  # training stopped on a non-finite loss
EXIT_INTERRUPTED = 130  # Ctrl-C (SIGINT); training saved a resumable checkpoint first
EXIT_TERMINATED = 143  # SIGTERM (128 + 15); the same clean stop as Ctrl-C
EXIT_LINT = 5  # `eemkit check --lint`, `eemkit export --int8-target trt`: the offline TensorRT lint found errors


class EemkitError(Exception):
    """A user-facing error: the message names the bad value and the fix.

    `code` is the process exit code the CLI uses (1 = failure, 2 = usage error).
    """

    def __init__(self, message: str, code: int = EXIT_FAILURE) -> None:
        super().__init__(message)
        self.code = code


class UsageError(EemkitError):
    """Bad option values or inputs (exit code 2)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, EXIT_USAGE)


class TrainingDiverged(EemkitError):
    """A non-finite loss; the last good checkpoint is kept (exit code 4)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, EXIT_DIVERGED)


class LintFailed(EemkitError):
    """An ONNX model breaks a rule TensorRT imposes (exit code 5); the message names node and rule."""

    def __init__(self, message: str) -> None:
        super().__init__(message, EXIT_LINT)


# Modules only the training install (`pip install 'eemkit[train]'`) brings; the runtime install has none of them.
TRAIN_ONLY_MODULES = ("torch", "torchvision", "onnx", "onnxscript", "onnxslim", "matplotlib")


def missing_train_extra(err: ModuleNotFoundError) -> EemkitError | None:
    """The one-line error for a command that needs a training-only module this install lacks, or None
    when `err` is about another module (a real bug, left to surface)."""
    root = (err.name or "").split(".")[0]
    if root not in TRAIN_ONLY_MODULES:
        return None
    return EemkitError(f"this needs {root}, which only the training install has: pip install 'eemkit[train]' "
                       "(predict, demo, bench, check and eval of ONNX models and engines run without it)")
