"""Group commit of filings: concurrent FileComplaint calls are saved together, in one
transaction per group (`IntakeApplication.file_group`), instead of several transactions each.

A filing is validated before it joins a group, so an invalid one fails alone and at once. While
one group is being saved (in a worker thread), the filings that arrive queue up and form the
next group: nobody waits for a timer, and under load groups grow by themselves. Each caller
gets its own result, only after its group committed.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from aduan.core.context import CommandContext
from aduan_intake.application import IntakeApplication
from aduan_intake.filing import FilingRequest, FilingResult, ValidFiling
from aduan_intake.validation import validate_filing

MAX_GROUP = 256


@dataclass(frozen=True)
class _Waiting:
    valid: ValidFiling
    ctx: CommandContext
    answer: asyncio.Future[FilingResult]


class FilingGroups:
    def __init__(self, app: IntakeApplication, max_group: int = MAX_GROUP) -> None:
        self.app = app
        self.max_group = max_group
        self._waiting: list[_Waiting] = []
        self._saver: asyncio.Task[None] | None = None

    async def file(self, request: FilingRequest, ctx: CommandContext) -> FilingResult:
        valid = validate_filing(request)  # raises ValidationError: never joins a group
        answer: asyncio.Future[FilingResult] = asyncio.get_running_loop().create_future()
        self._waiting.append(_Waiting(valid, ctx, answer))
        if self._saver is None or self._saver.done():
            self._saver = asyncio.create_task(self._save_groups())
        # A cancelled caller does not cancel its group: the others still need their answers.
        return await asyncio.shield(answer)

    async def _save_groups(self) -> None:
        while self._waiting:
            group = self._waiting[: self.max_group]
            del self._waiting[: self.max_group]
            try:
                results = await asyncio.to_thread(
                    self.app.file_group, [(w.valid, w.ctx) for w in group]
                )
            except BaseException as error:  # every waiting caller hears of it
                for waiting in group:
                    if not waiting.answer.done():
                        waiting.answer.set_exception(
                            error if isinstance(error, Exception) else RuntimeError(str(error))
                        )
                if not isinstance(error, Exception):
                    raise
                continue
            for waiting, result in zip(group, results, strict=True):
                if waiting.answer.done():
                    continue
                if isinstance(result, Exception):
                    waiting.answer.set_exception(result)
                else:
                    waiting.answer.set_result(result)
