"""Storage semantics, identical on the local folder and on a real S3 server."""

import pytest

from lakehouse.errors import ObjectNotFound, StorageError


def test_write_read_list_delete(lakehouse):
    st = lakehouse.storage
    st.write_bytes("raw/a/x/1.bin", b"one")
    st.write_bytes("raw/a/x/2.bin", b"two")
    st.write_bytes("raw/a/y/3.bin", b"three")
    st.write_bytes("raw/ab/z.bin", b"other")
    assert st.read_bytes("raw/a/x/2.bin") == b"two"
    assert [o.key for o in st.list("raw/a/")] == ["raw/a/x/1.bin", "raw/a/x/2.bin", "raw/a/y/3.bin"]
    assert [o.size for o in st.list("raw/a/x/")] == [3, 3]
    assert [o.key for o in st.list("raw/a")] == ["raw/a/x/1.bin", "raw/a/x/2.bin", "raw/a/y/3.bin", "raw/ab/z.bin"]
    assert st.exists("raw/a/x/1.bin") and not st.exists("raw/a/x/9.bin")
    st.delete("raw/a/x/1.bin")
    st.delete("raw/a/x/1.bin")  # deleting twice is not an error
    assert not st.exists("raw/a/x/1.bin")
    assert [o.key for o in st.list("raw/a/x/")] == ["raw/a/x/2.bin"]


def test_overwrite_replaces_content(lakehouse):
    st = lakehouse.storage
    st.write_bytes("_meta/k.json", b"v1")
    st.write_bytes("_meta/k.json", b"version2")
    assert st.read_bytes("_meta/k.json") == b"version2"
    assert len(st.list("_meta/")) == 1


def test_missing_object_is_a_clear_error(lakehouse):
    with pytest.raises(ObjectNotFound) as err:
        lakehouse.storage.read_bytes("raw/none/here.parquet")
    assert "raw/none/here.parquet" in str(err.value)


def test_staged_file_publishes_only_on_success(lakehouse, tmp_path):
    st = lakehouse.storage
    with pytest.raises(RuntimeError), st.staged_file("curated/m/data.parquet") as tmp:
        tmp.write_bytes(b"partial")
        raise RuntimeError("crash mid-write")
    assert not st.exists("curated/m/data.parquet")
    assert st.list("curated/") == []
    with st.staged_file("curated/m/data.parquet") as tmp:
        tmp.write_bytes(b"complete")
    assert st.read_bytes("curated/m/data.parquet") == b"complete"


def test_temp_files_are_never_listed(lakehouse):
    st = lakehouse.storage
    st.scratch_dir().mkdir(parents=True, exist_ok=True)
    (st.scratch_dir() / "tmp-leftover.parquet").write_bytes(b"x")
    st.write_bytes("raw/s/d/f.bin", b"y")
    assert [o.key for o in st.list("")] == ["raw/s/d/f.bin"]


@pytest.mark.parametrize("key", ["../etc/passwd", "/abs", "raw/../../x", "raw//x", ""])
def test_unsafe_keys_are_refused(lakehouse, key):
    with pytest.raises(StorageError):
        lakehouse.storage.write_bytes(key, b"x")
