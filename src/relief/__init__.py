"""relief: the one import package relief installs.

The repository keeps its top-level folders jobs/, transforms/, expectations/ and conf/;
src/relief/ holds links to them, so they install (wheel or editable) as relief.jobs,
relief.transforms, relief.expectations and relief.conf, and nothing else lands in a user's
environment. Edit the files in the top-level folders; the links follow.
"""
