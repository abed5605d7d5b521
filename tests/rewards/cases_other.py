"""Realistic cases, the other task kinds: (gold, answer, verdict[, choices][, meta]).

MathVista free-form golds are strings ("5", "1.45") with an optional meta precision;
its multiple-choice records (like CV-Bench `(A)` and SAT) carry the gold as a letter.
Counts are CLEVR / SuperCLEVR integers; labels are the Visual-RFT few-shot sets' names.
"""

MATHVISTA = [
    ("5", "5", 1), ("5", "5 years", 1), ("5", "The answer is 5.", 1), ("5", "five", 1),
    ("5", "There are 5 people in the image.", 1), ("5", "6", 0), ("5", "5 or 6", 0),
    ("5", "about 5", 0), ("5", "55", 0),
    ("1.45", "1.45", 1), ("1.45", "$1.45", 1), ("1.45", "1.45 dollars", 1), ("1.45", "1.54", 0),
    ("1.45", "1.4", 0),
    ("2.3", "2.32", 1, None, {"precision": 1}), ("2.3", "2.3", 1, None, {"precision": 1}),
    ("2.3", "2.4", 0, None, {"precision": 1}), ("2.3", "2.36", 0, None, {"precision": 1}),
    ("1000", "1,000", 1), ("1000", "1000", 1), ("1000", "100", 0),
    ("25", "25%", 1), ("25", r"25\%", 1), ("25", "2.5", 0),
    ("0.5", r"\frac{1}{2}", 1), ("0.5", "1/2", 1), ("0.5", "0.50", 1), ("0.5", "5", 0),
    ("12", "12", 1), ("12", "The value is 12.", 1), ("12", "12 or 13", 0), ("12", "1, 2", 0),
    ("-3", "-3", 1), ("-3", "−3", 1), ("-3", "3", 0),
    ("40", "either 40 or 140", 0), ("40", "40 to 50", 0), ("40", "at least 40", 0),
    ("40", "not 40", 0), ("40", "40", 1), ("40", "forty", 1),
]

_CV = ["left", "right"]
_MV = ["97", "102", "107", "122"]
_SAT = ["The chair is closer", "The table is closer", "They are at the same distance"]
_CNT = ["0", "1", "2", "3", "4", "5"]
CHOICE = [
    ("B", "B", 1, _MV), ("B", "(B)", 1, _MV), ("B", "B.", 1, _MV), ("B", "B. 102", 1, _MV),
    ("B", "(B) 102", 1, _MV), ("B", "102", 1, _MV), ("B", "**B**", 1, _MV), ("B", "b", 1, _MV),
    ("B", "B\n\nBecause the bar for 2010 reaches 102.", 1, _MV), ("B", "B - 102", 1, _MV),
    ("B", "I choose B", 1, _MV), ("B", "B is correct", 1, _MV), ("B", "the answer is b", 1, _MV),
    ("B", "The answer is B.", 1, _MV), ("B", "Answer: B", 1, _MV), ("B", "Option B", 1, _MV),
    ("B", "The correct option is (B).", 1, _MV), ("B", r"\boxed{B}", 1, _MV),
    ("B", "B) 102", 1, _MV), ("B", "**B. 102**", 1, _MV), ("B", "It must be B.", 1, _MV),
    ("B", "B, because A is smaller than 100.", 1, _MV),
    ("B", "A", 0, _MV), ("B", "C", 0, _MV), ("B", "A or B", 0, _MV), ("B", "A, B, C, D", 0, _MV),
    ("B", "(A) (B)", 0, _MV), ("B", "not B", 0, _MV), ("B", "E", 0, _MV), ("B", "B or C", 0, _MV),
    ("B", "B. 97", 0, _MV), ("B", "97", 0, _MV), ("B", "The answer is not B.", 0, _MV),
    ("B", "B and D", 0, _MV), ("B", "", 0, _MV), ("B", "B/C", 0, _MV),
    ("(A)", "A", 1, _CV), ("(A)", "(A)", 1, _CV), ("(A)", "(A) left", 1, _CV), ("(A)", "left", 1, _CV),
    ("(A)", "A. left", 1, _CV), ("(A)", "A\n\nThe lamp is on the left side of the bed.", 1, _CV),
    ("(A)", "The answer is (A).", 1, _CV), ("(A)", "(B)", 0, _CV), ("(A)", "right", 0, _CV),
    ("(A)", "A or B", 0, _CV), ("(A)", "C", 0, _CV), ("(A)", "(A) or (B)", 0, _CV),
    ("(A)", "A. right", 0, _CV),
    ("(D)", "D", 1, _CNT), ("(D)", "(D) 3", 1, _CNT), ("(D)", "D. 3", 1, _CNT), ("(D)", "D, three chairs", 1, _CNT),
    ("(D)", "D - 3", 1, _CNT), ("(D)", "(C)", 0, _CNT), ("(D)", "C or D", 0, _CNT), ("(D)", "G", 0, _CNT),
    ("B", "B", 1, _SAT), ("B", "(B) The table is closer", 1, _SAT), ("B", "The table is closer", 1, _SAT),
    ("B", "B. The table is closer.", 1, _SAT), ("B", "A", 0, _SAT), ("B", "The chair is closer", 0, _SAT),
    ("B", "D", 0, _SAT), ("B", "A, B", 0, _SAT), ("B", "A cat", 0, _SAT),
]

COUNT = [
    (3, "3", 1), (3, " 3 ", 1), (3, "three", 1), (3, "Three", 1), (3, "There are 3 objects.", 1),
    (3, "3 items", 1), (3, "3 in total", 1), (3, "2 + 1 = 3", 1), (3, "**3**", 1), (3, "3.", 1),
    (3, "There are three items in the image.", 1), (3, r"\boxed{3}", 1), (3, "3 objects", 1),
    (3, "4", 0), (3, "3 or 4", 0), (3, "3-4", 0), (3, "between 3 and 4", 0), (3, "about 3", 0),
    (3, "3.5", 0), (3, "2", 0), (3, "13", 0), (3, "at least 3", 0), (3, "3, 4", 0), (3, "", 0),
    (3, "There are 2 cubes and 1 sphere.", 0), (3, "more than 3", 0),
    (4, "4", 1), (4, "four", 1), (4, "2 + 2 = 4", 1), (4, "There are 4 different items.", 1),
    (4, "The total number of items is 4.", 1), (4, "5", 0), (4, "4 or 5", 0), (4, "four or five", 0),
    (10, "10", 1), (10, "ten", 1), (10, "6 + 4 = 10", 1), (10, "1", 0), (10, "100", 0),
    (0, "0", 1), (0, "zero", 1), (0, "1", 0),
    (1000, "1,000", 1), (1000, "1000", 1), (1000, "100", 0),
    (7, "seven", 1), (7, "7 cubes", 1), (7, "There are seven objects.", 1), (7, "6 or 7", 0),
    (7, "approximately 7", 0), (21, "twenty-one", 1), (21, "21", 1), (21, "twenty", 0),
]

_FLOWER = "sunflower"
LABELS = [
    (_FLOWER, "sunflower", 1), (_FLOWER, "Sunflower", 1), (_FLOWER, "a sunflower", 1),
    (_FLOWER, "sunflowers", 1), (_FLOWER, "The flower is a sunflower.", 1), (_FLOWER, "SUNFLOWER", 1),
    (_FLOWER, "This is a sunflower.", 1), (_FLOWER, "It is a sunflower", 1), (_FLOWER, " sunflower. ", 1),
    (_FLOWER, "The species of the flower is sunflower.", 1),
    (_FLOWER, "sunflower or daisy", 0), (_FLOWER, "sunflower, rose", 0), (_FLOWER, "daisy", 0),
    (_FLOWER, "sun", 0), (_FLOWER, "", 0), (_FLOWER, "not a sunflower", 0), (_FLOWER, "flower", 0),
    (_FLOWER, "daisy and sunflower", 0), (_FLOWER, "Mexican sunflower", 0),
    ("pink primrose", "pink primrose", 1), ("pink primrose", "Pink Primrose", 1),
    ("pink primrose", "pink_primrose", 1), ("pink primrose", "The flower is a pink primrose.", 1),
    ("pink primrose", "pink primroses", 1), ("pink primrose", "primrose", 0), ("pink primrose", "pink", 0),
    ("pink primrose", "evening primrose", 0), ("pink primrose", "rose or pink primrose or tulip", 0),
    ("pink primrose", "pink primrose / hibiscus", 0),
    ("737-200", "737-200", 1), ("737-200", "The aircraft is a 737-200.", 1), ("737-200", " 737-200 . ", 1),
    ("737-200", "737-300", 0), ("737-200", "737", 0), ("737-200", "737-200 or 737-300", 0),
    ("737-200", "737_200", 0), ("737-200", "Boeing 737-200", 1), ("737-200", "Boeing 737-200 and Airbus A320", 0),
    ("Abyssinian", "Abyssinian", 1), ("Abyssinian", "abyssinian", 1), ("Abyssinian", "an Abyssinian", 1),
    ("Abyssinian", "This is an Abyssinian cat.", 1), ("Abyssinian", "The breed of the pet is Abyssinian.", 1),
    ("Abyssinian", "Bengal", 0), ("Abyssinian", "Abyssinian or Bengal", 0), ("Abyssinian", "cat", 0),
    ("english setter", "English Setter", 1), ("english setter", "an English setter dog", 1),
    ("english setter", "english_setter", 1), ("english setter", "setter", 0),
    ("english setter", "Irish setter", 0), ("english setter", "English setter, pointer", 0),
    ("Tesla Model S Sedan 2012", "Tesla Model S Sedan 2012", 1),
    ("Tesla Model S Sedan 2012", "The car is a Tesla Model S Sedan 2012.", 1),
    ("Tesla Model S Sedan 2012", "Tesla Model S", 0), ("Tesla Model S Sedan 2012", "Tesla", 0),
    ("Tesla Model S Sedan 2012", "Tesla Model S Sedan 2012 or BMW M3 Coupe 2012", 0),
    ("daisy", "daisies", 1), ("daisy", "Daisy.", 1), ("daisy", "a daisy flower", 1),
    ("daisy", "oxeye daisy", 0), ("daisy", "daisy and dandelion", 0),
]
