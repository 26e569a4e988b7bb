"""Enumerations whose members carry the Chinese label the pages show.

Declare each member with its stored value and its label::

    class CampaignState(LabelledEnum):
        draft = "draft", "草稿"

`CampaignState.draft.value` and `str(CampaignState.draft)` are "draft", the member equals the plain
string "draft" (a column declared `db.Enum(CampaignState, native_enum=False)` stores that), and
`CampaignState.draft.label` is "草稿".
"""
import enum


class LabelledEnum(enum.StrEnum):
    def __new__(cls, value, label):
        member = str.__new__(cls, value)
        member._value_ = value
        member.label = label
        return member
