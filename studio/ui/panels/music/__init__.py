"""The music area's panels: Create (compose and render) and Library (tracks, playlists, exports)."""
