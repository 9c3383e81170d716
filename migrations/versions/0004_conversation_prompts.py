"""Conversation: prompts, shared phones, replies waiting to be attributed, court phones

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 19:00:00

"""

import sqlalchemy as sa
from alembic import op

import telejt.sqltypes

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "prompts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("question_id", sa.String(length=60), nullable=True),
        sa.Column("inbound_id", sa.Integer(), nullable=True),
        sa.Column("options", sa.JSON(), nullable=True),
        sa.Column("opened_at", telejt.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("answer_until", telejt.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("crisis_until", telejt.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("reasks", sa.Integer(), nullable=False),
        sa.Column("closed_at", telejt.sqltypes.UTCDateTime(timezone=True), nullable=True),
        sa.Column("close_reason", sa.String(length=20), nullable=True),
        sa.Column("answered_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "kind IN ('attendance', 'question', 'which_prompt', 'which_person', 'cancel_what')",
            name=op.f("ck_prompts_kind"),
        ),
        sa.CheckConstraint(
            "close_reason IS NULL OR close_reason IN ('answered', 'superseded', 'withdrawn')",
            name=op.f("ck_prompts_close_reason"),
        ),
        sa.CheckConstraint("crisis_until >= answer_until", name=op.f("ck_prompts_windows")),
        sa.ForeignKeyConstraint(
            ["answered_by_id"],
            ["inbound_messages.id"],
            name=op.f("fk_prompts_answered_by_id_inbound_messages"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_prompts_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["inbound_id"],
            ["inbound_messages.id"],
            name=op.f("fk_prompts_inbound_id_inbound_messages"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["outbound_messages.id"],
            name=op.f("fk_prompts_message_id_outbound_messages"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            name=op.f("fk_prompts_participant_id_participants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prompts")),
    )
    with op.batch_alter_table("prompts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_prompts_contact_id"), ["contact_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_prompts_participant_id"), ["participant_id"], unique=False
        )
        batch_op.create_index(
            "ix_prompts_open",
            ["participant_id", "crisis_until"],
            unique=False,
            postgresql_where=sa.text("closed_at IS NULL"),
            sqlite_where=sa.text("closed_at IS NULL"),
        )

    # A non-null column on a filled table: added with a default, then the default dropped.
    with op.batch_alter_table("participants", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "is_phone_shared", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
    with op.batch_alter_table("participants", schema=None) as batch_op:
        batch_op.alter_column("is_phone_shared", server_default=None)

    with op.batch_alter_table("courts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("team_phone", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("on_call_phone", sa.String(length=20), nullable=True))

    with op.batch_alter_table("inbound_messages", schema=None) as batch_op:
        batch_op.alter_column("participant_id", existing_type=sa.Integer(), nullable=True)


def downgrade():
    # a reply still waiting to be attributed has no place in the old schema
    op.execute("DELETE FROM inbound_messages WHERE participant_id IS NULL")
    with op.batch_alter_table("inbound_messages", schema=None) as batch_op:
        batch_op.alter_column("participant_id", existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table("courts", schema=None) as batch_op:
        batch_op.drop_column("on_call_phone")
        batch_op.drop_column("team_phone")
    with op.batch_alter_table("participants", schema=None) as batch_op:
        batch_op.drop_column("is_phone_shared")
    with op.batch_alter_table("prompts", schema=None) as batch_op:
        batch_op.drop_index("ix_prompts_open")
        batch_op.drop_index(batch_op.f("ix_prompts_participant_id"))
        batch_op.drop_index(batch_op.f("ix_prompts_contact_id"))
    op.drop_table("prompts")
