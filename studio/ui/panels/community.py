"""Community: mentions, comments and replies (placeholder until the community area is built)."""

from studio.ui.panels.base import PlaceholderPanel


class CommunityPanel(PlaceholderPanel):
    title = "Community"
    icon = "mdi6.account-group"
    key = "community"
    area = "community"
    description = "Your audience on the channels you connect: mentions, comments and replies."
    will_hold = (
        "Mentions and comments from connected channels (Discord, Telegram, YouTube, Reddit), with their sentiment",
        "Replies and scheduled posts",
        "Nothing is shown until a channel is connected in Settings",
    )
