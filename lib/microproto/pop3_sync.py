"""Incremental POP3 sync: fetch only messages whose UIDL was not seen.

The seen UIDs live in a state file (one per line), always rewritten whole
into ``file.new`` and renamed over the old one, so a reset leaves the old
or the new list, never half of one. A UID is recorded only after its
message was handled (``sync``: saved into its file, itself written as
``.part`` and renamed), so a reset loses nothing; a message handled but not
yet recorded is fetched again next time and written to the same
``<uid>.eml`` name, so nothing is duplicated. UIDs no longer on the server
are dropped from the file. With ``delete``, recorded messages are marked
for deletion; the server deletes them at QUIT.
"""

STATE = ".pop3-seen"


def load(path):
    """The set of UIDs in ``path`` (empty when it does not exist)."""
    try:
        with open(path) as f:
            return set(line.strip() for line in f if line.strip())
    except OSError:
        return set()


def save(path, uids):
    """Write ``uids`` to ``path`` atomically (new file, then rename)."""
    import os

    tmp = path + ".new"
    with open(tmp, "w") as f:
        for u in uids:
            f.write(u + "\n")
    try:
        os.rename(tmp, path)
    except OSError:  # a board's FAT does not replace on rename
        os.remove(path)
        os.rename(tmp, path)


def file_name(uid):
    """``uid`` as a safe file name: bytes outside [A-Za-z0-9._-] become %XX."""
    out = []
    for c in uid:
        if c.isalpha() or c.isdigit() or c in "._-":
            out.append(c)
        else:
            out.append("%%%02X" % ord(c))
    return "".join(out) + ".eml"


def new_messages(box, state_file, delete=False):
    """Generator over ``(number, uid)`` of the new messages of ``box``
    (a logged-in ``POP3``); see ``POP3.new_messages``."""
    seen = load(state_file)
    kept = []
    for n, uid in box.uidl():
        if uid in seen:
            kept.append(uid)
            if delete:
                box.dele(n)
            continue
        yield n, uid
        kept.append(uid)
        save(state_file, kept)
        if delete:
            box.dele(n)
    save(state_file, kept)


def sync(box, directory, delete=False):
    """Save each new message of ``box`` (a logged-in ``POP3``) into
    ``directory/<uid>.eml``; the state file is ``directory/.pop3-seen``.
    Returns the UIDs saved. (``await AsyncPOP3.sync(directory)`` is the
    asyncio form.)"""
    saved = []
    for n, uid in new_messages(box, directory + "/" + STATE, delete):
        box.retr(n, into=directory + "/" + file_name(uid))
        saved.append(uid)
    return saved
