"""A module of the program holding a random.Random instance of its own (shuffler), for
rng_random_instance.py."""

import random

shuffler = random.Random(7)
