"""The child page's photo: upload with CSRF, hostile files refused, the served JPEG carries no
EXIF/GPS, inspectors see but cannot change it, logged-out requests reach nothing."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from PIL import Image
from test_photo import GPS_IFD, jpeg_with_gps
from web_helpers import USERS, login, make_school, running


@pytest.fixture(scope="module")
def school(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    path = tmp_path_factory.mktemp("web-photo") / "arc"
    return path, make_school(path, 2)


@pytest.fixture(scope="module")
def base(school: tuple[Path, list[str]]) -> Iterator[str]:
    from guanai.web.app import create_app

    with running(create_app(school[0])) as url:
        yield url


def school_photo_id(path: Path, cid: str) -> str:
    from web_helpers import PASS

    from guanai.archive.store import Archive

    with Archive.open(path, user="admin", passphrase=PASS) as arc:
        (doc,) = arc.list_documents(child_id=cid, kind="child-photo")
        return str(doc.id)


def hx(token: str) -> dict[str, str]:
    return {"X-CSRF-Token": token, "HX-Request": "true"}


def test_photo_upload_view_and_remove(base: str, school: tuple[Path, list[str]]) -> None:
    cid = school[1][0]
    with httpx.Client(timeout=60) as c:
        assert c.get(base + f"/children/{cid}/photo.jpg").status_code in (303, 401)  # logged out
        token = login(c, base)
        page = c.get(base + f"/children/{cid}").text
        assert "尚无照片" in page and 'id="photo-upload"' in page
        assert c.get(base + f"/children/{cid}/photo.jpg").status_code == 404
        files = {"file": ("手机照片.jpg", jpeg_with_gps())}
        assert c.post(base + f"/children/{cid}/photo", files=files,
                      headers={"HX-Request": "true"}).status_code == 403  # no CSRF token
        r = c.post(base + f"/children/{cid}/photo", headers=hx(token),
                   files={"file": ("照片.jpg", b"plain text, not a photo\n" * 10)})
        assert r.status_code == 400 and "不是 JPEG 或 PNG" in r.text
        assert 'id="photo-upload"' in r.text  # the panel comes back with the form, to try another file
        r = c.post(base + f"/children/{cid}/photo", headers=hx(token), files=files)
        assert r.status_code == 200, r.text
        assert f'src="/children/{cid}/photo.jpg' in r.text and 'id="photo-remove"' in r.text
        served = c.get(base + f"/children/{cid}/photo.jpg")
        assert served.status_code == 200 and served.headers["content-type"] == "image/jpeg"
        assert served.headers.get("cache-control") == "no-store"
        im = Image.open(io.BytesIO(served.content))
        assert max(im.size) == 600 and dict(im.getexif()) == {} and dict(im.getexif().get_ifd(GPS_IFD)) == {}
        assert b"PhoneModel X" not in served.content
        # the photo is a document of the dossier: on the timeline, with its own page
        doc_id = school_photo_id(school[0], cid)
        page = c.get(base + f"/children/{cid}").text
        assert f'href="/docs/{doc_id}"' in page
        assert c.get(base + f"/docs/{doc_id}").status_code == 200
    name, pw = USERS["inspector"]
    with httpx.Client(timeout=60) as c:
        t = login(c, base, name, pw)
        page = c.get(base + f"/children/{cid}").text
        assert "child-photo" in page and 'id="photo-upload"' not in page and 'id="photo-remove"' not in page
        assert c.get(base + f"/children/{cid}/photo.jpg").status_code == 200
        assert c.post(base + f"/children/{cid}/photo", headers=hx(t), files=files).status_code == 403
        assert c.post(base + f"/children/{cid}/photo/remove", headers=hx(t)).status_code == 403
    with httpx.Client(timeout=60) as c:
        token = login(c, base)
        r = c.post(base + f"/children/{cid}/photo/remove", headers=hx(token))
        assert r.status_code == 200 and "尚无照片" in r.text
        assert c.get(base + f"/children/{cid}/photo.jpg").status_code == 404
        r = c.post(base + f"/children/{cid}/photo/remove", headers=hx(token))
        assert r.status_code == 404 and "没有照片" in r.text
