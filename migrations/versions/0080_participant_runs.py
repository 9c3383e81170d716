"""Each participant's runs and progress anchors, kept as his contacts change

Revision ID: 0080
Revises: 0070
Create Date: 2026-12-02 02:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0080"
down_revision = "0070"
branch_labels = None
depends_on = None

KEPT = "('attended', 'late', 'completed')"
RUN_BREAKING = "('attended', 'late', 'completed', 'incomplete', 'in_progress')"
COUNTED = "('attended', 'late', 'completed', 'missed', 'excused', 'incomplete', 'in_progress')"
HIS = "c.status = 'missed' AND c.attribution = 'participant'"
SINCE_RUN = "(a.run_broken_at IS NULL OR c.deadline_at > a.run_broken_at)"

#: the runs as telejt.reports.figures defined them when this table was made; later
#: definitions rebuild it themselves (telejt figures rebuild)
BACKFILL = f"""
INSERT INTO participant_runs (
    participant_id, last_kept_at, run_broken_at, last_missed_at, last_unverified_at,
    kept_ever, consecutive_misses, consecutive_unverified, consecutive_system_misses,
    streak, refreshed_at
)
SELECT
    p.id, a.last_kept_at, a.run_broken_at, a.last_missed_at, a.last_unverified_at,
    COALESCE(a.kept_ever, 0),
    (SELECT count(*) FROM contacts c WHERE c.participant_id = p.id AND {HIS} AND {SINCE_RUN}),
    (SELECT count(*) FROM contacts c WHERE c.participant_id = p.id AND {HIS}
        AND c.verified_at IS NULL AND {SINCE_RUN}),
    (SELECT count(*) FROM contacts c WHERE c.participant_id = p.id AND c.status = 'missed'
        AND c.attribution = 'system' AND {SINCE_RUN}),
    CASE WHEN a.last_missed_at IS NULL THEN COALESCE(a.kept_ever, 0)
         ELSE (SELECT count(*) FROM contacts c WHERE c.participant_id = p.id
               AND c.status IN {KEPT} AND c.deadline_at > a.last_missed_at) END,
    CURRENT_TIMESTAMP
FROM participants p
LEFT JOIN (
    SELECT participant_id,
        max(deadline_at) FILTER (WHERE status IN {KEPT}) AS last_kept_at,
        max(deadline_at) FILTER (WHERE status IN {RUN_BREAKING}) AS run_broken_at,
        max(deadline_at) FILTER (WHERE status = 'missed' AND attribution = 'participant'
            AND verified_at IS NOT NULL) AS last_missed_at,
        max(deadline_at) FILTER (WHERE status = 'missed' AND attribution = 'participant'
            AND verified_at IS NULL) AS last_unverified_at,
        count(*) FILTER (WHERE status IN {KEPT}) AS kept_ever
    FROM contacts WHERE status IN {COUNTED}
    GROUP BY participant_id
) a ON a.participant_id = p.id
"""


def upgrade():
    op.create_table(
        "participant_runs",
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("last_kept_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("run_broken_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_missed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_unverified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("kept_ever", sa.Integer(), nullable=False),
        sa.Column("consecutive_misses", sa.Integer(), nullable=False),
        sa.Column("consecutive_unverified", sa.Integer(), nullable=False),
        sa.Column("consecutive_system_misses", sa.Integer(), nullable=False),
        sa.Column("streak", sa.Integer(), nullable=False),
        sa.Column("refreshed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            name=op.f("fk_participant_runs_participant_id_participants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("participant_id", name=op.f("pk_participant_runs")),
    )
    op.execute(BACKFILL)


def downgrade():
    op.drop_table("participant_runs")
