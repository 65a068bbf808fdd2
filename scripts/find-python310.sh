#!/bin/sh
# Prints the path of a Python 3.10 interpreter (Rasa 3.6 does not run on 3.11+).
# Order: $PYTHON310, python3.10 on PATH, pyenv's 3.10.x, then common locations.
for candidate in "$PYTHON310" "$(command -v python3.10 2>/dev/null)" \
    $(ls -d "$HOME"/.pyenv/versions/3.10.*/bin/python3.10 2>/dev/null | sort -V -r) \
    /usr/local/bin/python3.10 /usr/bin/python3.10; do
  if [ -n "$candidate" ] && [ -x "$candidate" ] && "$candidate" -c 'import sys; assert sys.version_info[:2] == (3, 10)' 2>/dev/null; then
    echo "$candidate"; exit 0
  fi
done
echo "Python 3.10 not found: install it (e.g. 'pyenv install 3.10.13') or set PYTHON310=/path/to/python3.10" >&2
exit 1
