import unittest

from demo import Greeter, IGreeter


class GreeterTests(unittest.TestCase):
    def test_greet(self):
        self.assertEqual(Greeter().greet("world"), "hello world")

    def test_provides(self):
        self.assertTrue(IGreeter.providedBy(Greeter()))
