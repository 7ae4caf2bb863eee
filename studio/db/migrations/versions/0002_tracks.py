"""tracks

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 17:15:13.797270
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('tracks',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('generation_id', sa.String(length=64), nullable=True),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('description', sa.String(length=2000), nullable=True),
    sa.Column('prompt', sa.String(length=1000), nullable=True),
    sa.Column('style', sa.String(length=64), nullable=False),
    sa.Column('genre', sa.String(length=64), nullable=False),
    sa.Column('mood', sa.String(length=64), nullable=False),
    sa.Column('tempo_bpm', sa.Float(), nullable=False),
    sa.Column('key', sa.String(length=16), nullable=False),
    sa.Column('duration_s', sa.Float(), nullable=False),
    sa.Column('seed', sa.Integer(), nullable=False),
    sa.Column('instrumental', sa.Integer(), nullable=False),
    sa.Column('tags', sa.JSON(), nullable=False),
    sa.Column('is_public', sa.Integer(), nullable=False),
    sa.Column('spec', sa.JSON(), nullable=False),
    sa.Column('files', sa.JSON(), nullable=False),
    sa.Column('analysis', sa.JSON(), nullable=False),
    sa.Column('quality', sa.JSON(), nullable=False),
    sa.Column('lyrics', sa.JSON(), nullable=True),
    sa.Column('parent_track_id', sa.String(length=64), nullable=True),
    sa.Column('credits_used', sa.Float(), nullable=False),
    sa.Column('download_count', sa.Integer(), nullable=False),
    sa.Column('play_count', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('tracks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tracks_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_tracks_generation_id'), ['generation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_tracks_style'), ['style'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('tracks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tracks_style'))
        batch_op.drop_index(batch_op.f('ix_tracks_generation_id'))
        batch_op.drop_index(batch_op.f('ix_tracks_created_at'))

    op.drop_table('tracks')
