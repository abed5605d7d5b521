"""More realistic cases, in the styles the families differ by: Qwen2-VL terse, Qwen2.5-VL
sentences, Qwen3-VL markdown and "**Final Answer**" blocks. Same tuple shapes as the
other case files; merged into the categories of answer_cases.py.
"""

GEOQA_MORE = [
    ("8√{3}", r"8\sqrt{3}\text{cm}", 1), ("8√{3}", r"AB = 8\sqrt{3}", 1),
    ("8√{3}", r"The length of AB is $8\sqrt{3}$ cm.", 1), ("8√{3}", r"8\sqrt{3} \approx 13.86", 1),
    ("8√{3}", r"≈ 13.86", 0), ("8√{3}", r"8\sqrt{3} - 8", 0), ("8√{3}", r"\frac{8\sqrt{3}}{3}", 0),
    ("10√{3}cm", "10√3厘米", 1), ("10√{3}cm", "所以答案是10√3厘米", 1), ("10√{3}cm", "10√3 mm", 0), ("5cm", "5 mm", 0), ("5cm", "5 m", 0), ("6.5米", "6.5 km", 0),
    ("√{3}/2", r"\frac{\sqrt{3}}{2}", 1), ("√{3}/2", r"\frac{1}{2}", 0), ("√{3}/2", "0.866", 0),
    (r"\frac{√{3}}{2}", r"\frac{\sqrt{3}}{2}", 1), (r"\frac{√{3}}{2}", r"\sqrt{3}", 0),
    ("2√{3}cm", r"2\sqrt{3}\,\text{cm}", 1), ("2√{3}cm", r"2\sqrt{3}\,\text{cm}^2", 1),
    ("4√{3}", r"4 \times \sqrt{3}", 1), ("4√{3}", r"4 \cdot \sqrt{3}", 1), ("4√{3}", r"4 \times 3", 0),
    (r"\frac{4}{3}π", r"\frac{4\pi}{3}", 1), (r"\frac{4}{3}π", r"4\pi/3", 1), (r"\frac{4}{3}π", r"\frac{4}{3}", 0),
    ("3√{2}", r"3\sqrt{2} \text{ units}", 1), ("3√{2}", r"\sqrt{18}", 1), ("3√{2}", r"2\sqrt{3}", 0),
    ("100m", "100米", 1), ("100m", "100 metres", 1), ("100m", "10 m", 0),
    ("1.5小时", "1.5 hours", 1), ("1.5小时", "1.5", 1), ("1.5小时", "15", 0),
    ("20元", "20 yuan", 1), ("20元", "20", 1), ("20元", "200元", 0),
    ("1+√{3}", r"\sqrt{3}+1", 1), ("1+√{3}", r"1-\sqrt{3}", 0), ("1+√{3}", r"\sqrt{3}", 0),
    ("35°", "**35°**", 1), ("35°", "**Final Answer**\n35°", 1), ("35°", "The measure of ∠BOC is 35°.", 1),
    ("35°", "35° or 145°", 0), ("35°", "55°", 0), ("35°", "not 35°", 0),
    ("4", "4 cm", 1), ("4", "4.0", 1), ("4", "8 ÷ 2 = 4", 1), ("4", "2 × 2 = 4", 1), ("4", "4√2", 0),
    ("4", "2 × 2", 1), ("4", "2²", 1), ("4", "2 or 4", 0),
    ("12", "12cm²", 1), ("12", "12 square centimeters", 1), ("12", "１２", 1), ("12", "21", 0),
    ("5", r"\sqrt{25}", 1), ("5", "√5", 0), ("5", "25", 0),
]

GEOMETRY3K_MORE = [
    ("6", "6", 1), ("6", "x = 6", 1), ("6", "The value of x is 6.", 1), ("6", r"$x=6$", 1),
    ("6", "6 or -6", 0), ("6", "x = 3", 0), ("6", "x = ±6", 0),
    ("52", "m∠1 = 52°", 1), ("52", "52°", 1), ("52", "128°", 0),
    (r"8 \sqrt { 3 }", r"8\sqrt{3} \approx 13.9", 1), (r"8 \sqrt { 3 }", "13.9", 0),
    (r"\frac { 15 } { 2 }", "7.5", 1), (r"\frac { 15 } { 2 }", "15/2", 1), (r"\frac { 15 } { 2 }", "7", 0),
    ("10.4", "10.4", 1), ("10.4", "10.39", 0), ("10.4", "about 10.4", 0),
    (r"24 \pi", "24π square units", 1), (r"24 \pi", "75.4", 0), (r"24 \pi", r"12\pi", 0),
    ("9", "nine", 1), ("9", "The perimeter is 9.", 1), ("9", "9 or 10", 0),
]

MATHVISTA_MORE = [
    ("6", "6 people", 1), ("6", "6 years old", 1), ("6", "**6**", 1), ("6", "The answer is 6.", 1),
    ("6", "6 and 7", 0), ("6", "Between 5 and 7", 0),
    ("0.67", "2/3", 1, None, {"precision": 2}), ("0.67", "0.67", 1, None, {"precision": 2}),
    ("0.67", "0.6", 0, None, {"precision": 2}), ("3.14", "3.14", 1, None, {"precision": 2}),
    ("2017", "2017", 1), ("2017", "In 2017.", 1), ("2017", "2016", 0), ("2017", "2,017", 1),
    ("75", "75%", 1), ("75", "75 percent", 1), ("75", "0.75", 0),
]

CHOICE_MORE = [
    ("C", "**Answer: C**", 1, ["1", "2", "3", "4"]), ("C", "The correct answer is C) 3", 1, ["1", "2", "3", "4"]),
    ("C", "Option (C)", 1, ["1", "2", "3", "4"]), ("C", "(C) is correct", 1, ["1", "2", "3", "4"]),
    ("C", "答案是C", 1, ["1", "2", "3", "4"]), ("C", "C)", 1, ["1", "2", "3", "4"]),
    ("C", "The answer is C. Option A is incorrect since it is too small.", 1, ["1", "2", "3", "4"]),
    ("C", "Option A is 1, which is too small, so the answer is C.", 1, ["1", "2", "3", "4"]),
    ("C", "**Final Answer**\n(C) 3", 1, ["1", "2", "3", "4"]), ("C", "c", 1, ["1", "2", "3", "4"]),
    ("C", "C is wrong, the answer is B", 0, ["1", "2", "3", "4"]),
    ("C", "Option A is 1, so the answer is A.", 0, ["1", "2", "3", "4"]),
    ("C", "C or D", 0, ["1", "2", "3", "4"]), ("C", "either C or D", 0, ["1", "2", "3", "4"]),
    ("C", "C, D", 0, ["1", "2", "3", "4"]), ("C", "not C", 0, ["1", "2", "3", "4"]),
    ("C", "F", 0, ["1", "2", "3", "4"]), ("C", "4", 0, ["1", "2", "3", "4"]),
    ("C", "The answer is A, B or C.", 0, ["1", "2", "3", "4"]),
    ("A", "A", 1, ["yes", "no"]), ("A", "yes", 1, ["yes", "no"]), ("A", "Yes", 1, ["yes", "no"]),
    ("A", "no", 0, ["yes", "no"]), ("A", "A cat", 0, ["yes", "no"]), ("A", "B", 0, ["yes", "no"]),
    ("A", "A. yes", 1, ["yes", "no"]), ("A", "(A) yes", 1, ["yes", "no"]), ("A", "A. no", 0, ["yes", "no"]),
]

COUNT_MORE = [
    (5, "There are 5 objects in total.", 1), (5, "Total: 5", 1), (5, "The answer is 5.", 1),
    (5, "I count 5 objects: cubes, spheres and cylinders.", 1), (5, "5 objects remain.", 1),
    (5, "five objects", 1), (5, "3 + 2 = 5", 1), (5, "**5**", 1),
    (5, "5 or 6", 0), (5, "4-5", 0), (5, "about 5", 0), (5, "6", 0), (5, "15", 0),
    (5, "3 cubes and 2 spheres", 0), (5, "at most 5", 0), (5, "5?", 0), (5, "fifty", 0),
    (2, "2", 1), (2, "two", 1), (2, "There are two different items.", 1), (2, "1 + 1 = 2", 1),
    (2, "two or three", 0), (2, "twelve", 0), (2, "22", 0),
]

LABELS_MORE = [
    ("sunflower", "A sunflower.", 1), ("sunflower", "Sunflower!", 1), ("sunflower", "The image shows a sunflower.", 1),
    ("sunflower", "This appears to be a sunflower.", 1), ("sunflower", "I believe this is a sunflower.", 1),
    ("sunflower", "sun flower", 1), ("sunflower", "**Sunflower**", 1), ("sunflower", "Answer: sunflower", 1),
    ("sunflower", "The flower in the image is most likely a sunflower.", 1),
    ("sunflower", "sunflower or dandelion", 0), ("sunflower", "dandelion", 0), ("sunflower", "sunflower/daisy", 0),
    ("sunflower", "It is not a sunflower; it is a daisy.", 0), ("sunflower", "flower", 0),
    ("american bulldog", "American Bulldog", 1), ("american bulldog", "an American bulldog", 1),
    ("american bulldog", "bulldog", 0), ("american bulldog", "American pit bull terrier", 0),
    ("Bengal", "The pet is a Bengal cat.", 1), ("Bengal", "Bengal", 1), ("Bengal", "Bengal or Egyptian Mau", 0),
    ("Bengal", "Egyptian Mau", 0),
    ("Audi S4 Sedan 2012", "2012 Audi S4 Sedan", 1), ("Audi S4 Sedan 2012", "Audi S4 Sedan 2012", 1),
    ("Audi S4 Sedan 2012", "Audi S4", 0), ("Audi S4 Sedan 2012", "Audi S4 Sedan 2007", 0),
    ("Audi S4 Sedan 2012", "Audi S5 Coupe 2012", 0),
    ("A320", "A320", 1), ("A320", "The aircraft model is A320.", 1), ("A320", "A321", 0),
    ("A320", "A320 or A321", 0), ("A320", "A3", 0),
    ("Boeing 747-400", "Boeing 747-400", 1), ("Boeing 747-400", "boeing_747-400", 1),
    ("Boeing 747-400", "747-400", 0), ("Boeing 747-400", "Boeing 747", 0), ("Boeing 747-400", "Boeing", 0),
    ("red", "red", 1), ("red", "Red.", 1), ("red", "The shape is red.", 1), ("red", "red and blue", 0),
    ("red", "blue", 0), ("red", "reddish", 0),
]
