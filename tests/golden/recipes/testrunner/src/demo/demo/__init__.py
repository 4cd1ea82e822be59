from zope.interface import Interface, implementer


class IGreeter(Interface):
    def greet(name):
        """Return a greeting."""


@implementer(IGreeter)
class Greeter:
    def greet(self, name):
        return f"hello {name}"
