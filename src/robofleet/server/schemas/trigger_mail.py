"""The answer of Sherpa's "test mail" button: what a check of the mailbox would find now."""

from __future__ import annotations

from pydantic import BaseModel, Field


class MailboxTry(BaseModel):
    ok: bool = Field(description="The mailbox could be read (connection, login, folder).")
    error: str = Field("", description="Why not, naming the server, when `ok` is false.")
    new_mails: int = Field(0, description="Mails read that the trigger has not taken yet.")
    matching: int = Field(0, description="Of those, the mails the filters accept.")
    jobs: int = Field(0, description="Jobs a check would make now (MinMails, OneJobPerMail).")
    subjects: list[str] = Field(
        default_factory=list, description="Subjects of the matching mails (the first 20)."
    )
