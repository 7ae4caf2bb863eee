"""The Community panel: Discord, Telegram and YouTube comments in one inbox, their sentiment, the
members behind them, and replies the studio drafts and a person approves.

- panel.py: `CommunityPanel`, which talks to `services.community` and composes the parts below
- inbox_list.py: the inbox filters (platform, needs reply, mentions, sentiment, search), the
  messages table and its empty state
- message_view.py: the opened message's thread, its sentiment and label correction, the draft with
  Approve & send / Edit / Discard
- outbox_box.py: approved replies and where each one is (waiting, sending, sent, failed, unconfirmed)
- members_box.py: the members table with the VIP mark, and a member's computed profile
- insights_box.py: the overview cards, sentiment over time and topics
- sources_box.py: one card per platform: status, token, channels, set-up instructions
- import_dialog.py: the preview of a messages file before it is imported
- charts.py: the pyqtgraph charts (sentiment over time, topics)
- common.py: the texts the parts share (platform names, sentiment colours, ages)

The parts only show and say what the user asked for (signals); the panel calls the service.
"""
