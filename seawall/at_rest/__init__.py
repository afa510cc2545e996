"""The at_rest suite: what really backs each data path, and a canary proof that its
plaintext never reaches the medium. Flow: :mod:`.stack` + :mod:`.luks` + :mod:`.fscrypt`
+ :mod:`.canary` -> :mod:`.engine` -> :mod:`.facts` -> :mod:`.rules` (see :mod:`.suite`)."""
