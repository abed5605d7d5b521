"""More cases, from how answers are phrased in the wild: LaTeX and unicode variants of
GeoQA golds, justifications after the value, breakdowns after a count, Chinese answers,
markdown, and the hedges a policy learns when they pay. Same tuple shapes as cases_geo.py.
"""

_C4 = ["97", "102", "107", "122"]

MATH_STYLES = [
    ("8√{3}", r"8 \sqrt{3} \mathrm{cm}", 1), ("8√{3}", r"$8\sqrt{3}\,\text{cm}$", 1), ("8√{3}", "8*sqrt(3)", 1),
    ("8√{3}", "8 sqrt 3", 1), ("8√{3}", r"8\sqrt{3}.", 1), ("8√{3}", r"The answer is $\boxed{8\sqrt{3}}$", 1),
    ("8√{3}", "AB的长为8√3", 1), ("8√{3}", r"BC = 8\sqrt{3}\text{ cm}", 1), ("8√{3}", r"$AB = 8\sqrt{3}$", 1),
    ("8√{3}", r"\frac{24}{\sqrt{3}}", 1), ("8√{3}", r"\frac{16\sqrt{3}}{2}", 1), ("8√{3}", r"8\sqrt{3}\ \text{units}", 1),
    ("8√{3}", "13.8564", 0), ("8√{3}", r"8\sqrt{3} 8\sqrt{2}", 0), ("8√{3}", "1 2 3 4 5 6 7 8", 0), ("8√{3}", r"\frac{8}{\sqrt{3}}", 0), ("8√{3}", r"8\sqrt{3}, or 8", 0),
    ("140°", "∠BOC = 140 degrees", 1), ("140°", r"140\degree", 1), ("140°", "140 °", 1),
    ("140°", "angle AOB is 140°.", 1), ("140°", r"m\angle AOB = 140^\circ", 1), ("140°", "140°。", 1),
    ("140°", "140° or 40°", 0), ("140°", "~140°", 0), ("140°", "140 radians", 0),
    ("16π平方米", r"16\pi \, \mathrm{m}^2", 1), ("16π平方米", r"16π \text{平方米}", 1), ("16π平方米", "16π㎡", 1),
    ("16π平方米", "16π cm²", 0), ("16π平方米", "16π平方厘米", 0),
    ("(√{3}+1)小时", r"(\sqrt{3}+1)\text{ h}", 1), ("(√{3}+1)小时", r"1 + \sqrt{3} \text{ hours}", 1),
    ("(√{3}+1)小时", r"(\sqrt{3}+1) minutes", 0), ("(√{3}+1)小时", r"\sqrt{3}-1", 0),
    (r"\frac{1}{2}cm²", r"\frac{1}{2}\text{ cm}^2", 1), (r"\frac{1}{2}cm²", "0.5 cm²", 1),
    (r"\frac{1}{2}cm²", "0.5平方厘米", 1), (r"\frac{1}{2}cm²", "0.5 m²", 0),
    ("2.5", "2.5 km", 1), ("√{5}", r"\sqrt5", 1), ("√{5}", "√5cm", 1), ("2√{5}", r"2\sqrt{5}\approx 4.47", 1),
    ("10", "The answer is: 10", 1), ("10", "Answer: 10 cm", 1), ("10", "10 (cm)", 1), ("10", "10 (mm)", 1),
    ("80°", "80°, because the angles sum to 180°", 1), ("80°", "80° (since 180° - 100° = 80°)", 1),
    ("80°", "100°, because 180° - 80° = 100°", 0), ("80°", "Not 80°, because it is 100°", 0),
    ("12", "The area is 12 square units.", 1), ("12", "Area = 12", 1), ("3", "x = 3 cm", 1),
    ("16", "x^2 = 16", 0), ("5", "2x = 10", 0), ("10", "2x = 10", 0), ("11", "2x + 1 = 11", 0),
    ("5", "x = 3, x = 5", 0), ("5", "x = 5 or x = -5", 0), ("8", r"8 = 2^3", 1), ("30", r"30 = 5 \times 6", 1),
    ("5", r"5 \times 6 = 30", 0), ("4", "Therefore, x = 4.", 1), ("4", "so 4 or 5", 0),
    ("4", r"\sqrt{16} = 4", 1), ("14", r"2 \cdot 7 = 14", 1), ("12", "perimeter = 3 + 4 + 5 = 12", 1),
]

CHOICE_STYLES = [
    ("B", "B)", 1, _C4), ("B", "[B]", 1, _C4), ("B", "The answer is option B.", 1, _C4), ("B", "My answer is B", 1, _C4),
    ("B", "The correct choice is B: 102", 1, _C4), ("B", "B. 102 is the correct value", 1, _C4),
    ("B", "(B)\n\nThe value of the bar is 102.", 1, _C4), ("B", "Option B is correct.", 1, _C4),
    ("B", "I would choose option B.", 1, _C4), ("B", "B (102)", 1, _C4), ("B", "Final answer: B", 1, _C4),
    ("B", "B is the answer", 1, _C4), ("B", "Based on the chart, B.", 1, _C4), ("B", "So B", 1, _C4),
    ("B", "It's B", 1, _C4), ("B", "option b", 1, _C4), ("B", "(b)", 1, _C4), ("B", "**(B)**", 1, _C4),
    ("B", "**Answer:** B", 1, _C4), ("B", "B. Because A and C are too small", 1, _C4), ("B", "答案：B", 1, _C4),
    ("B", "选项B", 1, _C4), ("B", "B选项", 1, _C4), ("B", "Not A, the answer is B", 1, _C4),
    ("B", "Either B or C", 0, _C4), ("B", "Not A, not C, so B or D", 0, _C4), ("B", "None of the above", 0, _C4),
    ("B", "A/B", 0, _C4), ("B", "(A), (B)", 0, _C4), ("B", "The answer is not A or B", 0, _C4),
    ("B", "B? or C", 0, _C4), ("B", "I think A, but B is possible", 0, _C4), ("B", "B, C, D", 0, _C4),
    ("B", "The answer is B, C", 0, _C4), ("B", "neither A nor B", 0, _C4), ("B", "B is wrong, so A", 0, _C4),
    ("B", "B is incorrect.", 0, _C4), ("B", "A B C D", 0, _C4), ("B", "A\nB\nC\nD", 0, _C4), ("B", "ABCD", 0, _C4),
    ("B", "(A)(B)(C)(D)", 0, _C4), ("(C)", "There are 2 chairs.", 1, ["0", "1", "2", "3"]),
    ("(C)", "two", 1, ["0", "1", "2", "3"]), ("(C)", "2 or 3", 0, ["0", "1", "2", "3"]),
    ("(C)", "There are 3 chairs.", 0, ["0", "1", "2", "3"]), ("(B)", "It is on the right side.", 1, ["left", "right"]),
    ("(B)", "left or right", 0, ["left", "right"]), ("(B)", "right, not left", 0, ["left", "right"]),
    ("B", "The table is closer.", 1, ["The chair is closer", "The table is closer"]), ("B", "B B B", 1, _C4), ("B", "I think B.", 1, _C4), ("B", "A) 97 B) 102", 0, _C4), ("B", "B. 102 C. 107", 0, _C4), ("B", "Option B and C", 0, _C4),
]

COUNT_STYLES = [
    (3, "The image contains 3 objects.", 1), (3, "There are a total of 3 objects.", 1), (3, "Count: 3", 1),
    (3, "I can see 3 items", 1), (3, "3 (three)", 1), (3, "three (3)", 1), (3, "In total, there are 3.", 1),
    (3, "There are three objects: a cube, a sphere, and a cylinder.", 1),
    (3, "After removing the red cube, 3 objects remain.", 1), (3, "The number of objects is 3.", 1),
    (0, "0 objects", 1), (0, "There are no objects.", 1), (0, "None", 1), (1, "There are no objects.", 0),
    (8, "There are 8 objects in the image: 3 cubes, 2 spheres, and 3 cylinders.", 1),
    (5, "3 large objects and 2 small ones, so 5 in total", 1), (3, "3 objects (2 cubes and 1 sphere)", 1),
    (3, "3 objects (cubes)", 1), (3, "3 objects (2 cubes and 2 spheres)", 0), (5, "5, so not 6", 0),
    (3, "0 1 2 3 4 5", 0), (3, "3 3 3", 1), (3, "3 4", 0),
    (3, "3+", 0), (3, "~3", 0), (3, "3 (maybe 4)", 0), (3, "Approximately 3", 0), (3, "3 or more", 0),
    (3, "There are 3 or 4 objects: cubes and spheres.", 0), (3, "3 cubes: 1 red, 2 blue; plus 2 spheres", 0),
]

LABEL_STYLES = [
    ("sunflower", "Sunflower flower", 1), ("sunflower", "It's a sunflower.", 1), ("sunflower", "The answer is sunflower", 1),
    ("sunflower", "This flower is a Sunflower", 1), ("sunflower", "Species: sunflower", 1), ("sunflower", "SunFlower", 1),
    ("pink primrose", "pink-primrose", 1), ("pink primrose", "Pink primrose flower", 1), ("737-200", "737-200 model", 1),
    ("Abyssinian", "Abyssinian cat", 1), ("Abyssinian", "The cat is an Abyssinian", 1), ("Abyssinian", "Abyssinian breed", 1),
    ("english cocker spaniel", "English Cocker Spaniel", 1), ("Egyptian Mau", "egyptian_mau", 1),
    ("great pyrenees", "Great Pyrenees dog", 1), ("737-200", "The aircraft in the image is a Boeing 737-200.", 1),
    ("A320", "Airbus A320", 1), ("S4 Sedan 2012", "Audi S4 Sedan 2012", 1),
    ("Audi S4 Sedan 2012", "BMW S4 Sedan 2012", 0), ("Audi S4 Sedan 2012", "Audi Audi S4 Sedan 2012 BMW", 0),
    ("english cocker spaniel", "cocker spaniel", 0), ("Egyptian Mau", "Mau", 0),
    ("Bentley Continental GT Coupe 2012", "Bentley Continental GT Coupe", 0),
    ("sunflower", "I think it's a sunflower, but it could be a daisy", 0), ("sunflower", "sunflower vs daisy", 0),
    ("sunflower", "not sure, sunflower?", 0), ("sunflower", "sunflower rose tulip daisy", 0),
    ("sunflower", "a b c sunflower", 0), ("sunflower", "sunflower-like flower", 0),
    ("sunflower", "It looks like a sunflower.", 1), ("sunflower", "sunflower daisy", 0), ("sunflower", "sunflower & daisy", 0),
]

GEOQA_TEST_STYLE = [  # golds in the shapes of R1-V's GeoQA test file
  ("π", r"\pi", 1), ("π", "π", 1), ("π", "3.14", 0), ("2π", r"2 \pi", 1), ("1:2", "1:2", 1), ("1:2", "1 : 2", 1),
  ("1:2", "2:1", 0), (r"\frac{√{3}}{3}", r"\frac{1}{\sqrt{3}}", 1), (r"\frac{√{3}}{3}", "√3/3", 1), ("4√{2}cm", r"4\sqrt{2}\text{cm}", 1),
  ("(2√{3}-2)m", r"2\sqrt{3}-2", 1), ("(2√{3}-2)m", r"2\sqrt{3}+2", 0), ("80πcm²", r"80\pi \text{ cm}^2", 1), ("80πcm²", r"80\pi", 1),
  ("\\frac{4}{3}π", r"\frac{4}{3}\pi", 1), ("15π", "15π", 1), ("15π", r"15\pi \approx 47.1", 1), ("15π", "47.1", 0),
  ("55°", "55", 1), ("55°", "The measure of angle C is 55 degrees.", 1), ("55°", "55° or 35°", 0), ("55°", "35°", 0),
  ("6米", "6 meters", 1), ("6米", "6m", 1), ("6米", "6 cm", 0), ("6米", "60米", 0),
  ("2.5", "\\frac{5}{2}", 1), ("2.5", "5/2", 1), ("2.5", "2.50", 1), ("2.5", "25", 0),
  ("3", "3\\sqrt{1}", 1), ("3", r"\frac{6}{2}", 1), ("3", "3.00 units", 1),
  ("\\frac{3}{2}", "1.5", 1), ("\\frac{3}{2}", "3/2", 1), ("\\frac{3}{2}", "1.50", 1), ("\\frac{3}{2}", "2/3", 0),
  ("√{2}", "\\sqrt{2}", 1), ("√{2}", "1.414", 0), ("√{2}", "√2/2", 0), ("3√{3}", "\\sqrt{27}", 1), ("3√{3}", "3\\sqrt{3}", 1),
  ("24πcm²", "24\\pi cm^2", 1), ("24πcm²", "24π cm", 1), ("24πcm²", "24π m²", 0),
  ("5", "5\\text{cm}", 1), ("5", "$5$", 1), ("5", "\\(5\\)", 1), ("5", "5 units", 1), ("5", "5单位", 1), ("5", "-5", 0),
  ("8", "\\boxed{8}", 1), ("8", "8 (units)", 1), ("0.8", "\\frac{4}{5}", 1), ("0.8", "80%", 0), ("0.8", "4/5", 1),
  ("100°", "100^{\\circ}", 1), ("100°", "∠AOC = 100^\\circ", 1), ("100°", "∠AOC = 2∠ABC = 100°", 1), ("50°", "∠AOC = 2∠ABC = 100°", 0),
  ("36", "6^2 = 36", 1), ("6", "6^2 = 36", 0), ("4", "√16", 1), ("10", "√100 = 10", 1),
]
