"""trend preview analysis

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 18:30:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('trend_items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('preview_analysis', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('preview_analysed_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('trend_items', schema=None) as batch_op:
        batch_op.drop_column('preview_analysed_at')
        batch_op.drop_column('preview_analysis')
