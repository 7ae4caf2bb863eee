"""voice characters

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 01:09:55.052135
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('characters',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('genre', sa.String(length=64), nullable=False),
    sa.Column('style', sa.String(length=32), nullable=True),
    sa.Column('personality_summary', sa.String(length=500), nullable=False),
    sa.Column('personality', sa.JSON(), nullable=False),
    sa.Column('backstory', sa.String(length=4000), nullable=False),
    sa.Column('interests', sa.JSON(), nullable=False),
    sa.Column('age', sa.Integer(), nullable=True),
    sa.Column('location', sa.String(length=200), nullable=True),
    sa.Column('timezone', sa.String(length=64), nullable=True),
    sa.Column('voice', sa.JSON(), nullable=False),
    sa.Column('voice_quality', sa.String(length=64), nullable=True),
    sa.Column('words', sa.JSON(), nullable=False),
    sa.Column('content_schedule', sa.String(length=32), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('appearance', sa.JSON(), nullable=False),
    sa.Column('is_default', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_active_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('characters', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_characters_status'), ['status'], unique=False)

    op.create_table('voice_content',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('character_id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('text', sa.String(length=20000), nullable=False),
    sa.Column('emotion', sa.String(length=32), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('duration_s', sa.Float(), nullable=True),
    sa.Column('media_id', sa.String(length=64), nullable=True),
    sa.Column('job_id', sa.String(length=64), nullable=True),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('result', sa.JSON(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('voice_content', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_voice_content_character_id'), ['character_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_voice_content_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_voice_content_job_id'), ['job_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_voice_content_status'), ['status'], unique=False)

    op.create_table('voices',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('description', sa.String(length=1000), nullable=False),
    sa.Column('character_id', sa.String(length=64), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('transform', sa.JSON(), nullable=False),
    sa.Column('profile', sa.JSON(), nullable=False),
    sa.Column('job_id', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('voices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_voices_character_id'), ['character_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('voices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_voices_character_id'))

    op.drop_table('voices')
    with op.batch_alter_table('voice_content', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_voice_content_status'))
        batch_op.drop_index(batch_op.f('ix_voice_content_job_id'))
        batch_op.drop_index(batch_op.f('ix_voice_content_created_at'))
        batch_op.drop_index(batch_op.f('ix_voice_content_character_id'))

    op.drop_table('voice_content')
    with op.batch_alter_table('characters', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_characters_status'))

    op.drop_table('characters')
