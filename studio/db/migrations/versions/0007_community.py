"""community

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 19:10:51.507440
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('community_members',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('platform', sa.String(length=16), nullable=False),
    sa.Column('external_id', sa.String(length=200), nullable=False),
    sa.Column('username', sa.String(length=200), nullable=False),
    sa.Column('joined_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('first_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('message_count', sa.Integer(), nullable=False),
    sa.Column('reactions_received', sa.Integer(), nullable=False),
    sa.Column('replies_received', sa.Integer(), nullable=False),
    sa.Column('vip', sa.Integer(), nullable=False),
    sa.Column('notes', sa.String(length=2000), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('community_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_community_members_last_seen_at'), ['last_seen_at'], unique=False)
        batch_op.create_index('ux_community_members_platform_external', ['platform', 'external_id'], unique=True)

    op.create_table('community_sources',
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('enabled', sa.Integer(), nullable=False),
    sa.Column('config', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('last_error', sa.String(length=1000), nullable=True),
    sa.Column('last_poll_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cursor', sa.JSON(), nullable=False),
    sa.Column('identity', sa.JSON(), nullable=False),
    sa.Column('messages_total', sa.Integer(), nullable=False),
    sa.Column('sent_total', sa.Integer(), nullable=False),
    sa.Column('errors_total', sa.Integer(), nullable=False),
    sa.Column('quota_used', sa.Integer(), nullable=False),
    sa.Column('quota_day', sa.String(length=10), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    op.create_table('community_state',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('initialized_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('config', sa.JSON(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('community_messages',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('platform', sa.String(length=16), nullable=False),
    sa.Column('channel_id', sa.String(length=200), nullable=False),
    sa.Column('channel_name', sa.String(length=200), nullable=True),
    sa.Column('external_id', sa.String(length=200), nullable=False),
    sa.Column('member_id', sa.String(length=64), nullable=True),
    sa.Column('author_name', sa.String(length=200), nullable=False),
    sa.Column('text', sa.String(length=20000), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reply_to_external_id', sa.String(length=200), nullable=True),
    sa.Column('is_mention', sa.Integer(), nullable=False),
    sa.Column('needs_reply', sa.Integer(), nullable=False),
    sa.Column('from_self', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('reactions', sa.Integer(), nullable=False),
    sa.Column('reply_count', sa.Integer(), nullable=True),
    sa.Column('sentiment_compound', sa.Float(), nullable=False),
    sa.Column('sentiment_label', sa.String(length=16), nullable=False),
    sa.Column('label_override', sa.String(length=16), nullable=True),
    sa.Column('labelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('imported_from', sa.String(length=255), nullable=True),
    sa.Column('url', sa.String(length=1000), nullable=True),
    sa.Column('content_id', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['member_id'], ['community_members.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('community_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_community_messages_content_id'), ['content_id'], unique=False)
        batch_op.create_index('ix_community_messages_member', ['member_id'], unique=False)
        batch_op.create_index('ix_community_messages_needs_reply', ['needs_reply', 'sent_at'], unique=False)
        batch_op.create_index('ix_community_messages_sent', ['sent_at'], unique=False)
        batch_op.create_index('ux_community_messages_key', ['platform', 'channel_id', 'external_id'], unique=True)

    op.create_table('community_replies',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('message_id', sa.String(length=64), nullable=True),
    sa.Column('platform', sa.String(length=16), nullable=False),
    sa.Column('channel_id', sa.String(length=200), nullable=True),
    sa.Column('reply_to_external_id', sa.String(length=200), nullable=True),
    sa.Column('text', sa.String(length=20000), nullable=False),
    sa.Column('drafted_text', sa.String(length=20000), nullable=True),
    sa.Column('drafted_by', sa.String(length=100), nullable=False),
    sa.Column('character_id', sa.String(length=64), nullable=True),
    sa.Column('response_type', sa.String(length=64), nullable=True),
    sa.Column('tone', sa.String(length=64), nullable=True),
    sa.Column('personalization_score', sa.Float(), nullable=True),
    sa.Column('grounded_track_ids', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('auto', sa.Integer(), nullable=False),
    sa.Column('approved_by', sa.String(length=200), nullable=True),
    sa.Column('approved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('send_after', sa.DateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.String(length=1000), nullable=True),
    sa.Column('nonce', sa.String(length=64), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('platform_message_id', sa.String(length=200), nullable=True),
    sa.Column('reactions', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['message_id'], ['community_messages.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('community_replies', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_community_replies_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_community_replies_message_id'), ['message_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_community_replies_status'), ['status'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('community_replies', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_community_replies_status'))
        batch_op.drop_index(batch_op.f('ix_community_replies_message_id'))
        batch_op.drop_index(batch_op.f('ix_community_replies_created_at'))

    op.drop_table('community_replies')
    with op.batch_alter_table('community_messages', schema=None) as batch_op:
        batch_op.drop_index('ux_community_messages_key')
        batch_op.drop_index('ix_community_messages_sent')
        batch_op.drop_index('ix_community_messages_needs_reply')
        batch_op.drop_index('ix_community_messages_member')
        batch_op.drop_index(batch_op.f('ix_community_messages_content_id'))

    op.drop_table('community_messages')
    op.drop_table('community_state')
    op.drop_table('community_sources')
    with op.batch_alter_table('community_members', schema=None) as batch_op:
        batch_op.drop_index('ux_community_members_platform_external')
        batch_op.drop_index(batch_op.f('ix_community_members_last_seen_at'))

    op.drop_table('community_members')
