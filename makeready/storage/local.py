"""PLACEHOLDER"""


class LocalStorage:
    name = "local"

    def __init__(self, *a, **k):
        pass

    async def check(self):
        pass
