"""analytics

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 01:51:04.577447
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('analytics_imports',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=True),
    sa.Column('sha256', sa.String(length=64), nullable=True),
    sa.Column('format', sa.String(length=64), nullable=False),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('columns', sa.JSON(), nullable=False),
    sa.Column('window_start', sa.String(length=10), nullable=True),
    sa.Column('window_end', sa.String(length=10), nullable=True),
    sa.Column('skipped', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('sha256')
    )
    with op.batch_alter_table('analytics_imports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_analytics_imports_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_analytics_imports_source'), ['source'], unique=False)

    op.create_table('analytics_items',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('key', sa.String(length=400), nullable=False),
    sa.Column('platform', sa.String(length=64), nullable=False),
    sa.Column('external_id', sa.String(length=128), nullable=True),
    sa.Column('isrc', sa.String(length=16), nullable=True),
    sa.Column('title', sa.String(length=300), nullable=True),
    sa.Column('artist', sa.String(length=200), nullable=True),
    sa.Column('published_at', sa.String(length=40), nullable=True),
    sa.Column('duration_s', sa.Float(), nullable=True),
    sa.Column('track_id', sa.String(length=64), nullable=True),
    sa.Column('content_id', sa.String(length=64), nullable=True),
    sa.Column('link_status', sa.String(length=16), nullable=False),
    sa.Column('link_method', sa.String(length=16), nullable=True),
    sa.Column('link_score', sa.Float(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key')
    )
    with op.batch_alter_table('analytics_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_analytics_items_content_id'), ['content_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_analytics_items_isrc'), ['isrc'], unique=False)
        batch_op.create_index(batch_op.f('ix_analytics_items_link_status'), ['link_status'], unique=False)
        batch_op.create_index(batch_op.f('ix_analytics_items_track_id'), ['track_id'], unique=False)

    op.create_table('analytics_reports',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('job_id', sa.String(length=64), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('report_type', sa.String(length=32), nullable=False),
    sa.Column('period', sa.String(length=16), nullable=False),
    sa.Column('format', sa.String(length=8), nullable=False),
    sa.Column('sections', sa.JSON(), nullable=False),
    sa.Column('media_id', sa.String(length=64), nullable=True),
    sa.Column('error', sa.JSON(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('analytics_reports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_analytics_reports_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_analytics_reports_job_id'), ['job_id'], unique=False)

    op.create_table('analytics_state',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('prices', sa.JSON(), nullable=False),
    sa.Column('limits', sa.JSON(), nullable=False),
    sa.Column('alerts_fired', sa.JSON(), nullable=False),
    sa.Column('youtube', sa.JSON(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('api_runs',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('stopped_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('api_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_runs_started_at'), ['started_at'], unique=False)

    op.create_table('connector_usage',
    sa.Column('day', sa.String(length=10), nullable=False),
    sa.Column('connector', sa.String(length=32), nullable=False),
    sa.Column('units', sa.Integer(), nullable=False),
    sa.Column('requests', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('day', 'connector')
    )
    op.create_table('request_rollups',
    sa.Column('day', sa.String(length=10), nullable=False),
    sa.Column('route', sa.String(length=200), nullable=False),
    sa.Column('requests', sa.Integer(), nullable=False),
    sa.Column('client_errors', sa.Integer(), nullable=False),
    sa.Column('server_errors', sa.Integer(), nullable=False),
    sa.Column('latency_ms_sum', sa.Float(), nullable=False),
    sa.Column('latency_ms_max', sa.Float(), nullable=False),
    sa.Column('latency_buckets', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('day', 'route')
    )
    # What was logged before this version, summed the same way (no latency buckets: percentiles
    # are left out for those days, averages and counts are exact).
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "INSERT INTO request_rollups (day, route, requests, client_errors, server_errors, latency_ms_sum, "
            "latency_ms_max, latency_buckets) "
            "SELECT substr(at, 1, 10), coalesce(route, 'unmatched'), count(*), "
            "sum(CASE WHEN status >= 400 AND status < 500 THEN 1 ELSE 0 END), "
            "sum(CASE WHEN status >= 500 THEN 1 ELSE 0 END), sum(latency_ms), max(latency_ms), '[]' "
            "FROM request_log GROUP BY 1, 2")
    op.create_table('analytics_facts',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('import_id', sa.String(length=64), nullable=False),
    sa.Column('fact_key', sa.String(length=64), nullable=False),
    sa.Column('line', sa.Integer(), nullable=False),
    sa.Column('file', sa.String(length=255), nullable=True),
    sa.Column('raw', sa.String(length=20000), nullable=False),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('scope', sa.String(length=8), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=True),
    sa.Column('platform', sa.String(length=64), nullable=False),
    sa.Column('start_day', sa.String(length=10), nullable=True),
    sa.Column('end_day', sa.String(length=10), nullable=True),
    sa.Column('country', sa.String(length=64), nullable=True),
    sa.Column('metrics', sa.JSON(), nullable=False),
    sa.Column('revenue', sa.Float(), nullable=True),
    sa.Column('currency', sa.String(length=8), nullable=True),
    sa.Column('extra', sa.JSON(), nullable=False),
    sa.Column('views', sa.Float(), nullable=True),
    sa.Column('likes', sa.Float(), nullable=True),
    sa.Column('comments', sa.Float(), nullable=True),
    sa.Column('shares', sa.Float(), nullable=True),
    sa.Column('watch_time_h', sa.Float(), nullable=True),
    sa.Column('streams', sa.Float(), nullable=True),
    sa.Column('listeners', sa.Float(), nullable=True),
    sa.Column('saves', sa.Float(), nullable=True),
    sa.Column('followers', sa.Float(), nullable=True),
    sa.Column('subscribers', sa.Float(), nullable=True),
    sa.Column('impressions', sa.Float(), nullable=True),
    sa.Column('units', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['import_id'], ['analytics_imports.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['item_id'], ['analytics_items.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('analytics_facts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_analytics_facts_fact_key'), ['fact_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_analytics_facts_import_id'), ['import_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_analytics_facts_item_id'), ['item_id'], unique=False)

    with op.batch_alter_table('tracks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('isrc', sa.String(length=16), nullable=True))
        batch_op.create_index(batch_op.f('ix_tracks_isrc'), ['isrc'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('tracks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tracks_isrc'))
        batch_op.drop_column('isrc')

    with op.batch_alter_table('analytics_facts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_analytics_facts_item_id'))
        batch_op.drop_index(batch_op.f('ix_analytics_facts_import_id'))
        batch_op.drop_index(batch_op.f('ix_analytics_facts_fact_key'))

    op.drop_table('analytics_facts')
    op.drop_table('request_rollups')
    op.drop_table('connector_usage')
    with op.batch_alter_table('api_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_runs_started_at'))

    op.drop_table('api_runs')
    op.drop_table('analytics_state')
    with op.batch_alter_table('analytics_reports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_analytics_reports_job_id'))
        batch_op.drop_index(batch_op.f('ix_analytics_reports_created_at'))

    op.drop_table('analytics_reports')
    with op.batch_alter_table('analytics_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_analytics_items_track_id'))
        batch_op.drop_index(batch_op.f('ix_analytics_items_link_status'))
        batch_op.drop_index(batch_op.f('ix_analytics_items_isrc'))
        batch_op.drop_index(batch_op.f('ix_analytics_items_content_id'))

    op.drop_table('analytics_items')
    with op.batch_alter_table('analytics_imports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_analytics_imports_source'))
        batch_op.drop_index(batch_op.f('ix_analytics_imports_created_at'))

    op.drop_table('analytics_imports')
