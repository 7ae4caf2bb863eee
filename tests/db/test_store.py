import io

import pytest

from studio.db.store import MediaStore, is_valid_media_id


def test_write_read_delete(tmp_path):
    store = MediaStore(tmp_path / "media")
    stored = store.write_bytes(b"abc", prefix="gen", extension="wav")
    assert stored.id.startswith("gen_") and stored.id.endswith(".wav")
    assert store.path(stored.id).read_bytes() == b"abc"
    assert stored.size_bytes == 3
    assert store.delete(stored.id) and not store.exists(stored.id)


def test_stream_and_multi_part_extension(tmp_path):
    store = MediaStore(tmp_path)
    stored = store.write_stream(io.BytesIO(b"x" * 5000), prefix="backup", extension="tar.gz")
    assert stored.id.endswith(".tar.gz") and store.path(stored.id).stat().st_size == 5000


@pytest.mark.parametrize("bad", ["../etc/passwd", "/etc/passwd", "gen_../../x", "gen_abc\x00.wav", "", "GEN_12345678",
                                 "gen_1234567z", "a" * 200])
def test_path_tricks_are_not_found(tmp_path, bad):
    (tmp_path / "secret").write_text("no")
    store = MediaStore(tmp_path / "media")
    assert not is_valid_media_id(bad)
    with pytest.raises(KeyError):
        store.path(bad)


def test_failed_write_leaves_nothing(tmp_path):
    store = MediaStore(tmp_path)

    class Boom(io.RawIOBase):
        def readinto(self, b):
            raise OSError("disk gone")

    with pytest.raises(OSError):
        store.write_stream(Boom(), prefix="gen")
    assert list(store._tmp.iterdir()) == []
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []
