"""trends

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 17:39:28.754646
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('trend_answers',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('trend_id', sa.String(length=64), nullable=False),
    sa.Column('job_id', sa.String(length=64), nullable=False),
    sa.Column('strategy', sa.String(length=32), nullable=False),
    sa.Column('customizations', sa.JSON(), nullable=False),
    sa.Column('schedule_upload', sa.Integer(), nullable=False),
    sa.Column('score_at_answer', sa.Float(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('trend_answers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_trend_answers_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_trend_answers_job_id'), ['job_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_trend_answers_trend_id'), ['trend_id'], unique=False)

    op.create_table('trend_items',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('match_key', sa.String(length=400), nullable=False),
    sa.Column('isrc', sa.String(length=16), nullable=True),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('artist', sa.String(length=300), nullable=True),
    sa.Column('first_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('duration_s', sa.Float(), nullable=True),
    sa.Column('bpm', sa.Float(), nullable=True),
    sa.Column('tags', sa.JSON(), nullable=False),
    sa.Column('preview_url', sa.String(length=1000), nullable=True),
    sa.Column('url', sa.String(length=1000), nullable=True),
    sa.Column('youtube_only', sa.Integer(), nullable=False),
    sa.Column('sources', sa.JSON(), nullable=False),
    sa.Column('viral_score', sa.Float(), nullable=True),
    sa.Column('scores', sa.JSON(), nullable=False),
    sa.Column('scored_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('first_rise_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('trend_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_trend_items_first_rise_at'), ['first_rise_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_trend_items_first_seen_at'), ['first_seen_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_trend_items_isrc'), ['isrc'], unique=False)
        batch_op.create_index(batch_op.f('ix_trend_items_last_seen_at'), ['last_seen_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_trend_items_match_key'), ['match_key'], unique=False)

    op.create_table('trend_monitor',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('running', sa.Integer(), nullable=False),
    sa.Column('intervals', sa.JSON(), nullable=False),
    sa.Column('priority', sa.JSON(), nullable=False),
    sa.Column('auto_answer', sa.JSON(), nullable=False),
    sa.Column('threshold', sa.Float(), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('stopped_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('next_scan_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('scans_done', sa.Integer(), nullable=False),
    sa.Column('items_processed', sa.Integer(), nullable=False),
    sa.Column('answers_generated', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('trend_sources',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('label', sa.String(length=200), nullable=False),
    sa.Column('enabled', sa.Integer(), nullable=False),
    sa.Column('config', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('last_scan_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.String(length=1000), nullable=True),
    sa.Column('scans_total', sa.Integer(), nullable=False),
    sa.Column('errors_total', sa.Integer(), nullable=False),
    sa.Column('recent', sa.JSON(), nullable=False),
    sa.Column('items_last_scan', sa.Integer(), nullable=False),
    sa.Column('quota_used', sa.Integer(), nullable=False),
    sa.Column('quota_day', sa.String(length=10), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    op.create_table('trend_snapshots',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('item_id', sa.String(length=64), nullable=False),
    sa.Column('source', sa.String(length=64), nullable=False),
    sa.Column('chart', sa.String(length=200), nullable=False),
    sa.Column('source_item_id', sa.String(length=200), nullable=True),
    sa.Column('scanned_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('rank', sa.Integer(), nullable=True),
    sa.Column('chart_size', sa.Integer(), nullable=True),
    sa.Column('metrics', sa.JSON(), nullable=False),
    sa.Column('imported_from', sa.String(length=255), nullable=True),
    sa.ForeignKeyConstraint(['item_id'], ['trend_items.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('trend_snapshots', schema=None) as batch_op:
        batch_op.create_index('ix_trend_snapshots_item_scanned', ['item_id', 'scanned_at'], unique=False)
        batch_op.create_index('ix_trend_snapshots_scanned', ['scanned_at'], unique=False)
        batch_op.create_index('ix_trend_snapshots_source_item', ['source', 'source_item_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('trend_snapshots', schema=None) as batch_op:
        batch_op.drop_index('ix_trend_snapshots_source_item')
        batch_op.drop_index('ix_trend_snapshots_scanned')
        batch_op.drop_index('ix_trend_snapshots_item_scanned')

    op.drop_table('trend_snapshots')
    op.drop_table('trend_sources')
    op.drop_table('trend_monitor')
    with op.batch_alter_table('trend_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_trend_items_match_key'))
        batch_op.drop_index(batch_op.f('ix_trend_items_last_seen_at'))
        batch_op.drop_index(batch_op.f('ix_trend_items_isrc'))
        batch_op.drop_index(batch_op.f('ix_trend_items_first_seen_at'))
        batch_op.drop_index(batch_op.f('ix_trend_items_first_rise_at'))

    op.drop_table('trend_items')
    with op.batch_alter_table('trend_answers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_trend_answers_trend_id'))
        batch_op.drop_index(batch_op.f('ix_trend_answers_job_id'))
        batch_op.drop_index(batch_op.f('ix_trend_answers_created_at'))

    op.drop_table('trend_answers')
