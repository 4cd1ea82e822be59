from setuptools import setup

setup(name="pkg", version="0.1", packages=["pkg"])
