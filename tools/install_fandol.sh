#!/bin/sh
# FandolFang (CTEX's free GB 2312 仿宋, GPL with font exception) for the PDF body face.
# Debian ships it only inside texlive-lang-chinese (49 MB download; installing the package pulls
# 22 packages of TeX Live, ~200 MB). We download that one .deb with apt and extract the single
# 7 MB font into /usr/local/share/fonts/guanai (generators/fonts.conf lists that directory).
# Usage (root): tools/install_fandol.sh   — idempotent; a no-op when the font is already there.
set -eu
DEST=${GUANAI_FONT_DIR:-/usr/local/share/fonts/guanai}
FONT=FandolFang-Regular.otf
if [ -f "$DEST/$FONT" ]; then
  exit 0
fi
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
cd "$TMP"
apt-get download texlive-lang-chinese >/dev/null
DEB=$(ls texlive-lang-chinese_*.deb)
dpkg-deb --fsys-tarfile "$DEB" | tar -x ./usr/share/texlive/texmf-dist/fonts/opentype/public/fandol/$FONT
mkdir -p "$DEST"
install -m 0644 "./usr/share/texlive/texmf-dist/fonts/opentype/public/fandol/$FONT" "$DEST/$FONT"
fc-cache -f "$DEST" >/dev/null 2>&1 || true
echo "已安装 FandolFang 仿宋字体：$DEST/$FONT"
